"""Error responses: every one is ``{"error_code", "error_message", "error_name"}``.

HTTP status = ``error_code``. ``error_name`` is the code itself for Climate's own
exceptions (as Blazar answers) and an upper-case HTTP name for errors of the HTTP layer
(unknown URL, wrong method, bad headers, body too large, authentication). Clients read
``error_message`` (python-blazarclient prints it after ``ERROR:``).
"""

import http
import json

from oslo_log import log as logging
import oslo_messaging as messaging
import webob

from climate import exceptions

LOG = logging.getLogger(__name__)

INTERNAL = 'INTERNAL_SERVER_ERROR'


def http_name(code):
    try:
        return http.HTTPStatus(code).name
    except ValueError:
        return 'ERROR'


#: No error message is longer (the handlers quote at most ~200 characters of input;
#: this bounds what a library might echo).
MAX_MESSAGE = 1024


def body(code, message, name=None):
    if isinstance(message, str) and len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + '…'
    return {'error_code': code, 'error_message': message,
            'error_name': http_name(code) if name is None else name}


def response(code, message, name=None, headers=None):
    """A webob Response carrying the error body."""
    resp = webob.Response(status=code, content_type='application/json',
                          charset='utf-8')
    resp.text = json.dumps(body(code, message, name))
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def from_exception(exc):
    """The error response for an exception raised while handling a request."""
    if isinstance(exc, exceptions.ClimateException):
        code = exc.code if 400 <= exc.code < 600 else 500
        if code >= 500:
            LOG.error('Request failed: %s: %s', type(exc).__name__, exc)
            return response(code, exc.message, INTERNAL if code == 500 else None)
        resp = response(code, exc.message, code)
        _add_policy_details(resp, exc)
        return resp
    if isinstance(exc, messaging.MessagingTimeout):
        LOG.error('The manager did not answer in time: %s', exc)
        return response(503, 'The lease manager did not answer in time; try again.')
    if isinstance(exc, webob.exc.HTTPException):
        return from_http_exception(exc)
    LOG.exception('Unexpected error while handling a request')
    return response(500, 'Internal Server Error', INTERNAL)


def _add_policy_details(resp, exc):
    """A usage-policy refusal also names its rule and, for a quota, the numbers."""
    if not isinstance(exc, exceptions.UsageLimitExceeded):
        return
    data = json.loads(resp.text)
    data['rule'] = exc.kwargs.get('rule')
    if exc.kwargs.get('details'):
        data['details'] = exc.kwargs['details']
    resp.text = json.dumps(data)


HTTP_MESSAGES = {
    404: 'The resource could not be found.',
    405: 'The method is not allowed for the requested URL.',
}


def from_http_exception(exc):
    code = exc.status_int
    message = HTTP_MESSAGES.get(code) or exc.detail or exc.explanation or exc.title
    headers = {}
    if code == 405 and exc.headers.get('Allow'):
        headers['Allow'] = exc.headers['Allow']
    return response(code, message, headers=headers)


class ErrorShape:
    """WSGI middleware: gives error responses produced outside Climate's handlers
    (keystonemiddleware's 401, anything a server or library answers) Climate's shape,
    and turns an uncaught exception into a 500 of that shape. Headers are kept."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        request = webob.Request(environ)
        try:
            resp = request.get_response(self.app)
        except Exception as exc:  # nothing may escape as a bare server error
            resp = from_exception(exc)
        if resp.status_int >= 400 and not _has_shape(resp):
            resp = self._reshape(resp)
        return resp(environ, start_response)

    @staticmethod
    def _reshape(resp):
        code = resp.status_int
        message = HTTP_MESSAGES.get(code) or _phrase(code)
        try:
            data = json.loads(resp.body or b'null')
        except ValueError:
            data = None
        # keystonemiddleware: {"error": {"code": 401, "title": ..., "message": ...}}
        if isinstance(data, dict) and isinstance(data.get('error'), dict):
            message = data['error'].get('message') or message
        new = response(code, message)
        for key, value in resp.headers.items():
            if key.lower() not in ('content-type', 'content-length'):
                new.headers[key] = value
        return new


def _phrase(code):
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return 'Error'


def _has_shape(resp):
    if resp.content_type != 'application/json':
        return False
    try:
        data = json.loads(resp.body)
    except ValueError:
        return False
    return isinstance(data, dict) and 'error_message' in data and 'error_code' in data
