"""``/calendar``: the reservation calendar, a static page served by climate-api.

The page (``calendar_static/``: ``index.html``, ``calendar.js``, ``calendar.css`` and
vis-timeline, vendored under ``vendor/``) shows hosts × time with their busy
intervals from ``GET /v1/availability/busy`` (the viewer's own leases highlighted),
zooms from hours to months, and turns a window selected with the mouse (Shift+drag)
into a ``climate lease create`` command line.

These paths are served before authentication: they hold no data. The page calls
``/v1`` with the viewer's credentials: under ``noauth`` directly; with Keystone, it
first shows a login form and ``POST /calendar/token`` exchanges the user's name and
password (or an application credential) for a token from Keystone (``[api]
calendar_keystone_url``, default ``[keystone_authtoken] www_authenticate_uri``), which
the page keeps in the tab's session storage only.
"""

import json
import mimetypes
import os

import webob
import webob.exc

from climate.api import errors

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'calendar_static')
PREFIX = '/calendar'
VIS_TIMELINE_VERSION = '8.5.4'
#: Largest login body read.
MAX_LOGIN_BODY = 4096


class Calendar:
    """WSGI middleware: ``/calendar…`` here, everything else to ``app``."""

    def __init__(self, app, conf):
        self.app = app
        self.conf = conf

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '')
        if path != PREFIX and not path.startswith(PREFIX + '/'):
            return self.app(environ, start_response)
        request = webob.Request(environ)
        try:
            response = self._serve(request, path[len(PREFIX):].lstrip('/'))
        except webob.exc.HTTPException as error:
            response = error
        return response(environ, start_response)

    def _serve(self, request, rest):
        if rest == 'token':
            if request.method != 'POST':
                raise webob.exc.HTTPMethodNotAllowed()
            return self._token(request)
        if request.method not in ('GET', 'HEAD'):
            raise webob.exc.HTTPMethodNotAllowed()
        if rest == '':
            if not request.path.endswith('/'):
                raise webob.exc.HTTPFound(location=request.path + '/')
            rest = 'index.html'
        if rest == 'config.json':
            return _json({'auth': self.conf.auth_strategy,
                          'vis_timeline': VIS_TIMELINE_VERSION})
        return _static(rest)

    def _keystone_url(self):
        url = self.conf.api.calendar_keystone_url
        if not url:
            try:
                url = self.conf.keystone_authtoken.www_authenticate_uri
            except Exception:  # the group is registered by keystonemiddleware
                url = None
        return url

    def _token(self, request):
        if self.conf.auth_strategy == 'noauth':
            return _error(400, 'auth_strategy is noauth: no token is '
                                           'needed')
        url = self._keystone_url()
        if not url:
            return _error(503, 'No Keystone URL: set [api] '
                                           'calendar_keystone_url')
        try:
            body = json.loads(request.body_file.read(MAX_LOGIN_BODY) or b'{}')
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, 'The login body must be a JSON object')
        from keystoneauth1 import exceptions as ks_exceptions
        from keystoneauth1 import session as ks_session
        from keystoneauth1.identity import v3
        if body.get('application_credential_id'):
            auth = v3.ApplicationCredential(
                auth_url=url,
                application_credential_id=body['application_credential_id'],
                application_credential_secret=body.get('application_credential_secret'))
        else:
            for key in ('username', 'password', 'project_name'):
                if not body.get(key):
                    return _error(400, f'Missing parameter {key}')
            auth = v3.Password(
                auth_url=url, username=body['username'], password=body['password'],
                project_name=body['project_name'],
                user_domain_name=body.get('user_domain_name') or 'Default',
                project_domain_name=body.get('project_domain_name') or 'Default')
        session = ks_session.Session(auth=auth, timeout=10)
        try:
            access = auth.get_access(session)
        except ks_exceptions.Unauthorized:
            return _error(401, 'Keystone refused these credentials')
        except ks_exceptions.ClientException as exc:
            return _error(503, f'Keystone could not be reached: {exc}')
        return _json({'token': access.auth_token, 'user_id': access.user_id,
                      'project_id': access.project_id,
                      'expires_at': access.expires.isoformat() if access.expires
                      else None})


def _error(code, message):
    """An error in the API's shape (``error_code``, ``error_message``…)."""
    response = errors.response(code, message)
    response.cache_control = 'no-store'
    return response


def _json(data, status=200):
    response = webob.Response(json.dumps(data), status=status,
                              content_type='application/json', charset='UTF-8')
    response.cache_control = 'no-store'
    return response


def _static(rest):
    path = os.path.normpath(os.path.join(STATIC, rest))
    if not path.startswith(STATIC + os.sep) or not os.path.isfile(path):
        raise webob.exc.HTTPNotFound()
    kind = mimetypes.guess_type(path)[0] or 'application/octet-stream'
    with open(path, 'rb') as handle:
        body = handle.read()
    response = webob.Response(body=body, content_type=kind)
    if kind.startswith('text/') or kind == 'application/javascript':
        response.charset = 'UTF-8'
    response.headers['X-Content-Type-Options'] = 'nosniff'
    return response
