"""``climate lease create`` when the answer is lost: a proxy in front of
``climate-all-in-one`` lets the server handle the first POST, then resets the client's
connection instead of answering. The CLI retries with the same ``Idempotency-Key`` and
ends with the lease the first attempt made, and only that one."""

import json
import os
import socket
import struct
import subprocess
import sys
import threading

import pytest

from tests.functional.api import all_in_one

START, END = '2030-01-01 10:00', '2030-01-02 10:00'


class DroppingProxy:
    """Relays one HTTP request per connection to ``127.0.0.1:upstream_port``; the
    answers to the first ``drops`` requests with ``method`` go to the server as usual
    but are never delivered: the client's connection is reset instead."""

    def __init__(self, upstream_port, method='POST', drops=1):
        self.upstream_port = upstream_port
        self.method = method
        self.drops = drops
        self.requests = []   # (method, path, headers) as received
        self._listener = socket.create_server(('127.0.0.1', 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def stop(self):
        self._listener.close()

    def _serve(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client):
        with client:
            request = _read_request(client)
            if request is None:
                return
            head, body = request
            lines = head.decode('latin-1').split('\r\n')
            method, path, _ = lines[0].split(' ', 2)
            headers = dict(line.split(':', 1) for line in lines[1:] if ':' in line)
            headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
            self.requests.append((method, path, headers))
            # The server closes after its answer: the proxy reads it to the end.
            kept = [line for line in lines[1:]
                    if line and not line.lower().startswith('connection:')]
            upstream_head = '\r\n'.join([lines[0], *kept, 'Connection: close', '', ''])
            with socket.create_connection(('127.0.0.1', self.upstream_port)) as up:
                up.sendall(upstream_head.encode('latin-1') + body)
                answer = _read_all(up)
            if method == self.method and self.drops > 0:
                self.drops -= 1
                # RST rather than FIN: the client sees a reset connection.
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  struct.pack('ii', 1, 0))
                return
            client.sendall(answer)


def _read_request(sock):
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    length = 0
    for line in head.split(b'\r\n')[1:]:
        name, _, value = line.partition(b':')
        if name.strip().lower() == b'content-length':
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body


def _read_all(sock):
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b''.join(chunks)
        chunks.append(chunk)


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    process = all_in_one.AllInOne(tmp_path_factory.mktemp('all-in-one')).start()
    yield process
    process.stop()


def _climate(url, *args):
    env = {key: value for key, value in os.environ.items() if not key.startswith('OS_')}
    executable = os.path.join(os.path.dirname(sys.executable), 'climate')
    return subprocess.run([executable, '--os-auth-type', 'none', '--os-endpoint', url,
                           *args], capture_output=True, text=True, env=env, timeout=120)


def test_create_retried_after_a_lost_answer_makes_one_lease(server):
    proxy = DroppingProxy(server.port)
    try:
        result = _climate(f'http://127.0.0.1:{proxy.port}/v1', 'lease', 'create',
                          'retried', '--start-date', START, '--end-date', END,
                          '--reservation', 'resource_type=dummy:resource', '-f', 'json')
    finally:
        proxy.stop()
    assert result.returncode == 0, result.stderr
    lease = json.loads(result.stdout)
    posts = [headers for method, _, headers in proxy.requests if method == 'POST']
    assert len(posts) == 2
    keys = {headers.get('idempotency-key') for headers in posts}
    assert len(keys) == 1 and None not in keys
    listed = json.loads(_climate(server.url, 'lease', 'list', '-f', 'json').stdout)
    assert [item['id'] for item in listed if item['name'] == 'retried'] == [lease['id']]


def test_every_create_sends_a_new_key(server):
    proxy = DroppingProxy(server.port, drops=0)
    try:
        for name in ('fresh-1', 'fresh-2'):
            result = _climate(f'http://127.0.0.1:{proxy.port}/v1', 'lease', 'create',
                              name, '--start-date', START, '--end-date', END,
                              '--reservation', 'resource_type=dummy:resource')
            assert result.returncode == 0, result.stderr
    finally:
        proxy.stop()
    keys = [headers.get('idempotency-key') for method, _, headers in proxy.requests
            if method == 'POST']
    assert len(keys) == 2 and len(set(keys)) == 2 and None not in keys
