"""A minimal stand-in for climate-api's ``/v1/leases``, until the real API lands.

It serves ``POST /v1/leases`` and ``GET /v1/leases/<id>`` over HTTP (wsgiref, a
thread, 127.0.0.1 on a free port) in front of a real ``LeaseService``, with Blazar's
status codes and error body (``error_code``, ``error_message``, ``error_name``). A
request must carry a token that ``valid_token`` accepts (the Keystone of the Nova
double issued it); the caller's project is ``project_id``. Everything the real API
adds (policy, keystonemiddleware, microversions, the RPC hop) is left out.
"""

import json
import re
import socketserver
import threading
from wsgiref import simple_server

from climate import context as climate_context
from climate import exceptions

REASONS = {200: 'OK', 201: 'Created', 400: 'Bad Request', 401: 'Unauthorized',
           403: 'Forbidden', 404: 'Not Found', 409: 'Conflict',
           500: 'Internal Server Error'}


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


class FakeLeaseAPI:

    def __init__(self, service, valid_token, project_id, user_id='user-climate'):
        self.service = service
        self.valid_token = valid_token
        self.project_id = project_id
        self.user_id = user_id
        self.requests = []          # (method, path, body)
        self._httpd = None
        self.url = None

    def __enter__(self):
        self._httpd = simple_server.make_server('127.0.0.1', 0, self,
                                                server_class=_Server,
                                                handler_class=_QuietHandler)
        self.url = f'http://127.0.0.1:{self._httpd.server_port}'
        threading.Thread(target=self._httpd.serve_forever, daemon=True,
                         kwargs={'poll_interval': 0.05}).start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()

    def __call__(self, environ, start_response):
        method, path = environ['REQUEST_METHOD'], environ.get('PATH_INFO', '')
        length = int(environ.get('CONTENT_LENGTH') or 0)
        raw = environ['wsgi.input'].read(length) if length else b''
        try:
            body = json.loads(raw) if raw else None
            self.requests.append((method, path, body))
            status, answer = self._dispatch(method, path, body, environ)
        except ValueError:
            status, answer = 400, _error(400, 'Malformed JSON body')
        except exceptions.ClimateException as error:
            status, answer = error.code, _error(error.code, str(error))
        payload = json.dumps(answer).encode()
        start_response(f'{status} {REASONS.get(status, "Error")}',
                       [('Content-Type', 'application/json'),
                        ('Content-Length', str(len(payload)))])
        return [payload]

    def _dispatch(self, method, path, body, environ):
        if not self.valid_token(environ.get('HTTP_X_AUTH_TOKEN')):
            return 401, {'error': {'code': 401, 'title': 'Unauthorized',
                                   'message': 'The request you have made requires '
                                              'authentication.'}}
        ctx = climate_context.RequestContext(user_id=self.user_id,
                                             project_id=self.project_id,
                                             roles=['member'])
        if method == 'POST' and path == '/v1/leases':
            return 201, {'lease': self.service.create_lease(ctx, body)}
        match = re.fullmatch(r'/v1/leases/([^/]+)', path)
        if method == 'GET' and match:
            return 200, {'lease': self.service.get_lease(ctx, match.group(1))}
        return 404, {'error': 404, 'error_message': 'The resource could not be found.'}


def _error(code, message):
    return {'error_code': code, 'error_message': message, 'error_name': code}
