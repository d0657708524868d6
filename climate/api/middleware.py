"""WSGI middleware of the API stack (outermost first in ``climate.api.app``).

* :class:`HeadAsGet` — ``HEAD`` answered as ``GET`` without the body;
* :class:`CleanRequest` — 400 for a path or query that is not UTF-8 or a ``Host``
  header that is not ``host[:port]``; media types lower-cased (they are
  case-insensitive); links based on ``[api] public_endpoint`` when it is set;
* :class:`BodySizeLimit` — 413 for a body over ``[api] max_request_body_size``;
* :class:`Dispatch` — the version document at ``/`` and ``/versions`` without
  authentication (version discovery), everything else through authentication;
* :class:`NoAuth` — ``auth_strategy = noauth``: the identity headers as sent;
* :class:`Microversion` — ``OpenStack-API-Version: reservation 1.0`` negotiation and
  the ``OpenStack-API-Version``/``Vary`` response headers on every ``/v1`` response.
"""

import io
import re
from urllib import parse

import microversion_parse
import webob

from climate.api import errors
from climate.common import limits

SERVICE_TYPE = 'reservation'
MIN_VERSION = (1, 0)
MAX_VERSION = (1, 0)
VERSION_HEADER = 'OpenStack-API-Version'
#: On an answer after which the request stream cannot be trusted any more.
CLOSE = {'Connection': 'close'}
_VERSION = re.compile(r'^([1-9]\d*)\.(0|[1-9]\d*)$')


class BodySizeLimit:
    """Reads the request body before anything else does: 413 for one larger than
    ``limit`` bytes (declared or streamed, chunked included), 400 for one shorter
    than its Content-Length (the client stopped sending: the server's read timeout
    or the end of the connection), which also closes the connection."""

    def __init__(self, app, limit):
        self.app = app
        self.limit = limit

    def __call__(self, environ, start_response):
        message = f'Request body is larger than the limit of {self.limit} bytes.'
        length = environ.get('CONTENT_LENGTH')
        chunked = 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower()
        if length and not chunked:
            if not length.isascii() or not length.isdigit():
                return errors.response(400, 'Invalid Content-Length header.',
                                       headers=CLOSE)(environ, start_response)
            declared = int(length)
            if declared > self.limit:
                return errors.response(413, message)(environ, start_response)
            data = self._read(environ, declared)
            if data is None or len(data) < declared:
                return errors.response(
                    400, 'The request body is shorter than its Content-Length: the '
                         'client stopped sending before its end.',
                    headers=CLOSE)(environ, start_response)
        elif chunked:
            data = self._read(environ, self.limit + 1)
            if data is None:
                return errors.response(
                    400, 'The chunked request body was not received in full.',
                    headers=CLOSE)(environ, start_response)
            if len(data) > self.limit:
                return errors.response(413, message, headers=CLOSE)(
                    environ, start_response)
            environ.pop('HTTP_TRANSFER_ENCODING', None)
        else:
            return self.app(environ, start_response)
        environ['wsgi.input'] = io.BytesIO(data)
        environ['CONTENT_LENGTH'] = str(len(data))
        return self.app(environ, start_response)

    @staticmethod
    def _read(environ, size):
        """Up to ``size`` bytes of the body; None when the client stopped sending
        or sent broken chunk framing."""
        stream = environ['wsgi.input']
        parts, wanted = [], size
        try:
            while wanted > 0:
                part = stream.read(wanted)
                if not part:
                    break
                parts.append(part)
                wanted -= len(part)
        except (OSError, ValueError):
            return None
        return b''.join(parts)


class HeadAsGet:
    """``HEAD`` is ``GET`` without a body (webob's response drops the body of a
    ``HEAD`` and keeps its headers, Content-Length included)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get('REQUEST_METHOD') != 'HEAD':
            return self.app(environ, start_response)
        environ['REQUEST_METHOD'] = 'GET'
        try:
            resp = webob.Request(environ).get_response(self.app)
        finally:
            environ['REQUEST_METHOD'] = 'HEAD'
        return resp(environ, start_response)


# host[:port]: a DNS name (underscores tolerated) or IPv4 address, or a bracketed IPv6
# address.
_HOST = re.compile(r'([A-Za-z0-9]([A-Za-z0-9_.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])'
                   r'(:[0-9]{1,5})?', re.ASCII)


class CleanRequest:
    """Refuses, with a 400, what no handler should have to decode: a path or query
    string that is not UTF-8 and a ``Host`` header that is not ``host[:port]`` (it
    would be reflected in links). Lower-cases the media type of ``Content-Type``
    (``APPLICATION/JSON`` is JSON). With ``public_endpoint`` (oslo's convention, e.g.
    ``https://cloud.example.com/reservation``), every link the API builds starts with
    it instead of the request's own URL."""

    def __init__(self, app, public_endpoint=None):
        self.app = app
        self.public = None
        if public_endpoint:
            url = parse.urlsplit(public_endpoint.rstrip('/'))
            self.public = (url.scheme, url.netloc, url.path)

    def __call__(self, environ, start_response):
        problem = self._problem(environ)
        if problem:
            return errors.response(400, problem)(environ, start_response)
        content_type = environ.get('CONTENT_TYPE')
        if content_type:
            media, sep, params = content_type.partition(';')
            environ['CONTENT_TYPE'] = media.strip().lower() + sep + params
        if self.public:
            scheme, netloc, path = self.public
            environ['wsgi.url_scheme'] = scheme
            environ['HTTP_HOST'] = netloc
            environ['SCRIPT_NAME'] = path
        return self.app(environ, start_response)

    @staticmethod
    def _problem(environ):
        try:
            # WSGI hands the path over as latin-1 text of the raw bytes.
            environ.get('PATH_INFO', '').encode('latin-1').decode('utf-8')
            parse.unquote_to_bytes(
                environ.get('QUERY_STRING', '').encode('latin-1')).decode('utf-8')
        except UnicodeError:
            return 'The URL is not valid UTF-8.'
        host = environ.get('HTTP_HOST')
        if host is not None and not _HOST.fullmatch(host):
            return 'The Host header is not a valid host[:port].'
        return None


class Dispatch:
    """``/`` and ``/versions`` go to ``versions`` (anonymous), the rest to ``app``."""

    def __init__(self, versions, app):
        self.versions = versions
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '').rstrip('/')
        if path in ('', '/versions', '/versions.json'):
            return self.versions(environ, start_response)
        return self.app(environ, start_response)


#: Keystone's default implied roles: a token with ``admin`` also carries ``member``
#: and ``reader``, one with ``member`` also ``reader``.
IMPLIED_ROLES = {'admin': ('member', 'reader'), 'member': ('reader',)}


def with_implied_roles(roles):
    """``roles`` (comma-separated) and the roles they imply, as Keystone expands them."""
    names = [name.strip() for name in roles.split(',') if name.strip()]
    for name in list(names):
        for implied in IMPLIED_ROLES.get(name.lower(), ()):
            if implied not in names:
                names.append(implied)
    return ','.join(names)


class NoAuth:
    """Trusts X-User-Id, X-Project-Id and X-Roles; fills in the configured defaults
    for those a client did not send at all (``[api] noauth_*``; an empty X-Roles
    means no roles). Roles imply others as Keystone's do (:data:`IMPLIED_ROLES`)."""

    def __init__(self, app, user_id, project_id, roles):
        self.app = app
        self.defaults = {'HTTP_X_USER_ID': user_id, 'HTTP_X_PROJECT_ID': project_id,
                         'HTTP_X_ROLES': ','.join(roles)}

    def __call__(self, environ, start_response):
        for key, value in self.defaults.items():
            if key not in environ:
                environ[key] = value
        environ['HTTP_X_ROLES'] = with_implied_roles(environ['HTTP_X_ROLES'])
        environ.setdefault('HTTP_X_IDENTITY_STATUS', 'Confirmed')
        return self.app(environ, start_response)


def negotiate(headers):
    """``(status, text)``: ``(None, '1.0')`` for a supported request, else the error
    status (400 malformed, 406 unsupported) and its message."""
    requested = microversion_parse.get_version(headers, service_type=SERVICE_TYPE)
    if requested is None:
        return None, '%d.%d' % MIN_VERSION
    requested = requested.strip()
    if requested == 'latest':
        return None, '%d.%d' % MAX_VERSION
    match = _VERSION.match(requested)
    if not match:
        return 400, (f'API version string {limits.short_repr(requested, 64)} is '
                     f'malformed: use '
                     f'"MAJOR.MINOR" (e.g. "{SERVICE_TYPE} 1.0") or "latest".')
    version = (int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        return 406, (f'Version {requested} is not supported by the API. Minimum is '
                     '%d.%d and maximum is %d.%d.' % (MIN_VERSION + MAX_VERSION))
    return None, '%d.%d' % version


class Microversion:
    """Negotiates the reservation microversion and adds its headers to responses."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        # Every answer is JSON whatever the client accepts (as Blazar does).
        environ['HTTP_ACCEPT'] = 'application/json'
        request = webob.Request(environ)
        status, text = negotiate(request.headers)
        if status is not None:
            resp = errors.response(status, text)
        else:
            environ['climate.api_version'] = text
            resp = request.get_response(self.app)
            resp.headers[VERSION_HEADER] = f'{SERVICE_TYPE} {text}'
        vary = [v.strip() for v in resp.headers.get('Vary', '').split(',') if v.strip()]
        if VERSION_HEADER not in vary:
            vary.append(VERSION_HEADER)
        resp.headers['Vary'] = ', '.join(vary)
        return resp(environ, start_response)
