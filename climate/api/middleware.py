"""WSGI middleware of the API stack (outermost first in ``climate.api.app``).

* :class:`BodySizeLimit` — 413 for a body over ``[api] max_request_body_size``;
* :class:`Dispatch` — the version document at ``/`` and ``/versions`` without
  authentication (version discovery), everything else through authentication;
* :class:`NoAuth` — ``auth_strategy = noauth``: the identity headers as sent;
* :class:`Microversion` — ``OpenStack-API-Version: reservation 1.0`` negotiation and
  the ``OpenStack-API-Version``/``Vary`` response headers on every ``/v1`` response.
"""

import re

import microversion_parse
import webob

from climate.api import errors

SERVICE_TYPE = 'reservation'
MIN_VERSION = (1, 0)
MAX_VERSION = (1, 0)
VERSION_HEADER = 'OpenStack-API-Version'
_VERSION = re.compile(r'^([1-9]\d*)\.(0|[1-9]\d*)$')


class BodySizeLimit:
    """Refuses bodies larger than ``limit`` bytes (declared or streamed)."""

    def __init__(self, app, limit):
        self.app = app
        self.limit = limit

    def __call__(self, environ, start_response):
        message = f'Request body is larger than the limit of {self.limit} bytes.'
        length = environ.get('CONTENT_LENGTH')
        if length:
            try:
                declared = int(length)
            except ValueError:
                return errors.response(400, 'Invalid Content-Length header.')(
                    environ, start_response)
            if declared > self.limit:
                return errors.response(413, message)(environ, start_response)
        elif environ.get('HTTP_TRANSFER_ENCODING', '').lower() == 'chunked':
            data = environ['wsgi.input'].read(self.limit + 1)
            if len(data) > self.limit:
                return errors.response(413, message)(environ, start_response)
            import io
            environ['wsgi.input'] = io.BytesIO(data)
            environ['CONTENT_LENGTH'] = str(len(data))
            environ.pop('HTTP_TRANSFER_ENCODING', None)
        return self.app(environ, start_response)


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


class NoAuth:
    """Trusts X-User-Id, X-Project-Id and X-Roles; fills in the configured defaults
    for those a client did not send at all (``[api] noauth_*``; an empty X-Roles
    means no roles)."""

    def __init__(self, app, user_id, project_id, roles):
        self.app = app
        self.defaults = {'HTTP_X_USER_ID': user_id, 'HTTP_X_PROJECT_ID': project_id,
                         'HTTP_X_ROLES': ','.join(roles)}

    def __call__(self, environ, start_response):
        for key, value in self.defaults.items():
            if key not in environ:
                environ[key] = value
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
        return 400, (f'API version string {requested!r} is malformed: use '
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
