"""A tiny stand-in for Keystone's identity v3 API, enough for keystonemiddleware.

It answers version discovery, issues a token to the service user and to the users
of ``PASSWORDS`` (password method)
with a catalog naming itself as the identity service, and validates user tokens
(``GET /v3/auth/tokens``) from a fixed table: a real token check over HTTP, with
keystoneauth and keystonemiddleware unmodified. A real Keystone replaces it in the
integration tier.
"""

import datetime
import http.server
import json
import threading

SERVICE_TOKEN = 'service-token'
SERVICE_USER = ('climate', 'secret')


def _user_token(user, project, roles):
    return {'user': {'id': user, 'name': user,
                     'domain': {'id': 'default', 'name': 'Default'}},
            'project': {'id': project, 'name': project,
                        'domain': {'id': 'default', 'name': 'Default'}},
            'roles': [{'id': role, 'name': role} for role in roles]}


# token -> identity of its holder
TOKENS = {
    'member-token': _user_token('alice', 'project-a', ['member', 'reader']),
    'reader-token': _user_token('rita', 'project-a', ['reader']),
    'admin-token': _user_token('root', 'admin-project', ['admin', 'member', 'reader']),
}

# (user name, password) -> the token a password login of that user gets
PASSWORDS = {('alice', 'alice-password'): 'member-token'}


class FakeKeystone:

    def __init__(self):
        self.validations = []
        handler = self._handler_class()
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_port}'
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def authtoken_section(self):
        """A ``[keystone_authtoken]`` section that validates tokens against this
        Keystone as the ``climate`` service user."""
        return f"""[keystone_authtoken]
www_authenticate_uri = {self.url}/v3
auth_type = password
auth_url = {self.url}/v3
username = climate
password = secret
user_domain_id = default
project_name = service
project_domain_id = default
interface = internal
"""

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _token_body(self, identity, methods):
        now = datetime.datetime.now(datetime.timezone.utc)
        stamp = lambda t: t.strftime('%Y-%m-%dT%H:%M:%S.000000Z')  # noqa: E731
        endpoints = [{'id': f'e-{i}', 'interface': i, 'region': 'RegionOne',
                      'region_id': 'RegionOne', 'url': f'{self.url}/v3'}
                     for i in ('public', 'internal', 'admin')]
        return {'token': dict(identity, methods=methods, issued_at=stamp(now),
                              expires_at=stamp(now + datetime.timedelta(hours=1)),
                              catalog=[{'id': 'identity', 'type': 'identity',
                                        'name': 'keystone', 'endpoints': endpoints}])}

    def _version(self):
        return {'id': 'v3.14', 'status': 'stable', 'updated': '2020-04-07T00:00:00Z',
                'links': [{'rel': 'self', 'href': f'{self.url}/v3/'}],
                'media-types': [{'base': 'application/json',
                                 'type': 'application/vnd.openstack.identity-v3+json'}]}

    def _handler_class(self):
        keystone = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                path = self.path.split('?')[0].rstrip('/')
                if path == '':
                    return self._reply(300, {'versions': {'values': [
                        keystone._version()]}})
                if path == '/v3':
                    return self._reply(200, {'version': keystone._version()})
                if path == '/v3/auth/tokens':
                    if self.headers.get('X-Auth-Token') != SERVICE_TOKEN:
                        return self._reply(401, {'error': {'code': 401}})
                    subject = self.headers.get('X-Subject-Token')
                    keystone.validations.append(subject)
                    if subject not in TOKENS:
                        return self._reply(404, {'error': {
                            'code': 404, 'title': 'Not Found',
                            'message': 'Could not find token.'}})
                    return self._reply(200, keystone._token_body(
                        TOKENS[subject], ['password']),
                        {'X-Subject-Token': subject})
                return self._reply(404, {'error': {'code': 404}})

            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = json.loads(self.rfile.read(length) or b'{}')
                if self.path.split('?')[0].rstrip('/') != '/v3/auth/tokens':
                    return self._reply(404, {'error': {'code': 404}})
                password = body['auth']['identity'].get('password', {}).get('user', {})
                login = (password.get('name'), password.get('password'))
                if login in PASSWORDS:
                    token = PASSWORDS[login]
                    return self._reply(201, keystone._token_body(TOKENS[token],
                                                                 ['password']),
                                       {'X-Subject-Token': token})
                if login != SERVICE_USER:
                    return self._reply(401, {'error': {'code': 401}})
                identity = _user_token('climate', 'service', ['service', 'admin'])
                return self._reply(201, keystone._token_body(identity, ['password']),
                                   {'X-Subject-Token': SERVICE_TOKEN})

        return Handler
