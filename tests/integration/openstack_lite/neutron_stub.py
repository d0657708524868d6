"""A Neutron stand-in, just enough for servers booted with ``networks='none'``.

Nova calls Neutron even for servers without ports: on delete, shelve-offload and
unshelve it lists ports, extensions, networks and security groups. This stub (stdlib
only, no auth) answers every collection with an empty list, quotas with "unlimited",
single items with 404, deletes with 204, and refuses creation (400), so a test that
asks for a real network fails loudly instead of hanging. Usage: ``neutron_stub.py PORT``.
"""

import http.server
import json
import re
import sys

_COLLECTION = re.compile(r'^/(?:v2\.0/)?(?P<name>[a-z_\-]+?)(?:\.json)?$')
_ITEM = re.compile(r'^/(?:v2\.0/)?(?P<name>[a-z_\-]+)/(?P<id>[^/]+?)(?:\.json)?$')
_QUOTA_KEYS = ('network', 'subnet', 'port', 'router', 'floatingip', 'security_group',
               'security_group_rule')


def _error(kind, message):
    return {'NeutronError': {'type': kind, 'message': message, 'detail': ''}}


def route(method, raw_path):
    """``(status, body)`` for a request; ``body`` is JSON-serialisable or None."""
    path = raw_path.split('?', 1)[0].rstrip('/')
    if method == 'DELETE':
        return 204, None
    if method == 'POST':
        return 400, _error('BadRequest', 'neutron stub: creating resources is unsupported')
    if method == 'PUT':
        return 404, _error('NotFound', 'neutron stub: no such resource')
    if path == '':
        return 200, {'versions': [{'id': 'v2.0', 'status': 'CURRENT', 'links': []}]}
    if path == '/v2.0':
        return 200, {'resources': []}
    match = _COLLECTION.match(path)
    if match:
        return 200, {match['name'].replace('-', '_'): []}
    match = _ITEM.match(path)
    if match and match['name'] == 'quotas':
        return 200, {'quota': {key: -1 for key in _QUOTA_KEYS}}
    return 404, _error('NotFound', 'neutron stub: no such resource')


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def _answer(self):
        length = int(self.headers.get('Content-Length') or 0)
        if length:
            self.rfile.read(length)
        status, body = route(self.command, self.path)
        data = b'' if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, fmt, *args):
        sys.stdout.write(f'{self.command} {self.path} -> {args[1] if len(args) > 1 else ""}\n')
        sys.stdout.flush()


def main():
    port = int(sys.argv[1])
    print(f'neutron stub on http://127.0.0.1:{port}/', flush=True)
    http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler).serve_forever()


if __name__ == '__main__':
    main()
