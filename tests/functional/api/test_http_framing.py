"""HTTP framing against a real ``climate-all-in-one`` process (the production server,
``climate.api.server``, as ``climate-api`` runs it), over raw sockets: what no HTTP
client library would send. One process for the module, with a 2-second
``[api] client_socket_timeout``; and a ``climate-api`` process (RPC over RabbitMQ, no
manager needed for these requests) for the same server in that command.

Every answer is Climate's JSON error shape (never HTML or text), and no request is
left unanswered: a client that stops sending is answered, then cut off, within the
timeout.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests import backends
from tests.functional.api import all_in_one

TIMEOUT = 2
# Generous bound on "within the timeout" on a loaded machine: the timeout, the
# server's once-a-second sweep, and scheduling.
DEADLINE = TIMEOUT + 8


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    process = all_in_one.AllInOne(
        tmp_path_factory.mktemp('framing'),
        extra_config=f'[api]\nclient_socket_timeout = {TIMEOUT}\nworkers = 4\n')
    process.start()
    yield process
    process.stop()


def connect(server, timeout=DEADLINE):
    port = server if isinstance(server, int) else server.port
    return socket.create_connection(('127.0.0.1', port), timeout=timeout)


def read_response(sock):
    """``(status, headers, body)`` of the response on ``sock``, read to its close."""
    data = b''
    try:
        while True:
            part = sock.recv(65536)
            if not part:
                break
            data += part
    except ConnectionResetError:
        pass  # the server closed with our unread request bytes: what it sent stays
    head, _, body = data.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    status = int(lines[0].split()[1])
    headers = dict(line.split(': ', 1) for line in lines[1:])
    return status, {k.lower(): v for k, v in headers.items()}, body


def exchange(server, raw):
    with connect(server) as sock:
        sock.sendall(raw)
        return read_response(sock)


def assert_error(status, headers, body, code):
    assert status == code, body
    assert headers['content-type'].startswith('application/json')
    data = json.loads(body)
    assert data['error_code'] == code
    assert data['error_message']
    assert b'<' not in body  # no HTML


LEASE = json.dumps({'name': 'chunked', 'start_date': '2030-01-01 10:00',
                    'end_date': '2030-01-02 10:00'}).encode()


def test_a_chunked_body_is_decoded(server):
    half = len(LEASE) // 2
    chunks = b''.join(b'%x\r\n%s\r\n' % (len(part), part)
                      for part in (LEASE[:half], LEASE[half:]))
    status, _, body = exchange(server, (
        b'POST /v1/leases HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n'
        b'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'
        + chunks + b'0\r\n\r\n'))
    assert status == 201, body
    assert json.loads(body)['lease']['name'] == 'chunked'


def test_a_body_shorter_than_its_length_is_a_400_not_a_hang(server):
    with connect(server) as sock:
        sock.sendall(b'POST /v1/leases HTTP/1.1\r\nHost: localhost\r\n'
                     b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n'
                     b'{"name":')
        assert_error(*read_response(sock), 400)


def test_invalid_utf8_in_a_body_is_a_400(server):
    body = b'{"name": "\xff\xfe", "start_date": "now", "end_date": "now"}'
    status, headers, answer = exchange(server, (
        b'POST /v1/leases HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n'
        b'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n' % len(body)
        + body))
    assert_error(status, headers, answer, 400)
    assert 'not valid UTF-8' in json.loads(answer)['error_message']


def test_a_body_nested_10000_levels_deep_is_a_400(server):
    body = b'[' * 10000 + b']' * 10000
    status, headers, answer = exchange(server, (
        b'PUT /v1/leases/00000000-0000-4000-8000-000000000000 HTTP/1.1\r\n'
        b'Host: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n'
        b'Content-Length: %d\r\n\r\n' % len(body) + body))
    assert_error(status, headers, answer, 400)


@pytest.mark.parametrize('raw, code', [
    (b'GET /' + b'a' * 17000 + b' HTTP/1.1\r\nHost: localhost\r\n\r\n', 414),
    (b'GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ' + b'a' * 17000 + b'\r\n\r\n', 431),
    (b'NOT A REQUEST LINE\r\n\r\n', 400),
    (b'GET / HTTP/9.9\r\nHost: localhost\r\n\r\n', 505),
    (b'GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: x\r\n\r\n', 400),
], ids=['long-uri', 'large-headers', 'bad-request-line', 'http-9.9', 'bad-length'])
def test_what_the_server_answers_itself_is_json(server, raw, code):
    assert_error(*exchange(server, raw), code)


def test_300_half_sent_requests_hold_no_worker_and_are_all_answered(server):
    started = time.monotonic()
    held = []
    try:
        for index in range(300):
            sock = connect(server)
            if index % 2:   # headers sent, body short
                sock.sendall(b'POST /v1/leases HTTP/1.1\r\nHost: localhost\r\n'
                             b'Content-Length: 50\r\n\r\n{')
            else:           # headers never finished
                sock.sendall(b'GET /v1/leases HTTP/1.1\r\nHost: local')
            held.append(sock)
        # Meanwhile (4 workers) a complete request is answered at once.
        status, _, _ = exchange(server, b'GET / HTTP/1.1\r\nHost: localhost\r\n'
                                        b'Connection: close\r\n\r\n')
        assert status == 300
        codes = []
        for sock in held:
            status, headers, body = read_response(sock)
            assert_error(status, headers, body, status)
            codes.append(status)
        assert set(codes) == {400, 408}
        assert time.monotonic() - started < DEADLINE + 20  # not 300 timeouts in turn
    finally:
        for sock in held:
            sock.close()


def test_climate_api_answers_with_the_same_server(tmp_path):
    backends.check('rabbit', pytest.skip, pytest.fail)
    port = all_in_one.free_port()
    config = tmp_path / 'climate.conf'
    config.write_text(f'[DEFAULT]\nauth_strategy = noauth\nport = {port}\n'
                      f'transport_url = {backends.RABBIT_URL}\n'
                      f'[api]\nclient_socket_timeout = {TIMEOUT}\n')
    with open(tmp_path / 'api.log', 'w') as log:
        process = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), 'climate-api'),
             '--config-file', str(config)], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, (tmp_path / 'api.log').read_text()
                try:
                    urllib.request.urlopen(f'http://127.0.0.1:{port}/', timeout=1)
                except urllib.error.HTTPError as exc:
                    assert exc.code == 300
                    break
                except OSError:
                    assert time.monotonic() < deadline, 'climate-api did not answer'
                    time.sleep(0.1)
            assert_error(*exchange(port, b'GET / HTTP/9.9\r\nHost: localhost\r\n\r\n'),
                         505)
            with connect(port) as sock:
                sock.sendall(b'PUT /v1/leases/x HTTP/1.1\r\nHost: localhost\r\n'
                             b'Content-Length: 10\r\n\r\n{')
                assert_error(*read_response(sock), 400)
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert f'climate-api listening on http://127.0.0.1:{port}' in \
        (tmp_path / 'api.log').read_text()
