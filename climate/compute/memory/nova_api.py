"""A small Nova API over the in-memory driver, for the quickstart's ``climate`` CLI.

``climate-all-in-one`` with ``[compute] driver = memory`` serves it under
``/compute/v2.1`` so that ``climate server-boot`` and ``climate server-create``
(``--os-compute-endpoint http://127.0.0.1:1234/compute/v2.1``) boot simulated servers:
``POST /servers``, ``GET /servers/{id}``, ``DELETE /servers/{id}``. As the quickstart's
API, it trusts ``X-Project-Id``/``X-User-Id`` (default ``noauth-project``/``noauth``);
the servers belong to that project, and a capacity reservation's flavor is scheduled
as :class:`~climate.compute.memory.driver.MemoryDriver` does.
"""

import json
import re

from climate.compute import exceptions

PREFIX = '/compute/v2.1'
DEFAULT_PROJECT, DEFAULT_USER = 'noauth-project', 'noauth'
_SERVER = re.compile(r'^/servers/([^/]+)$')


class SimulatedNovaApp:
    """The WSGI application (see the module doc)."""

    def __init__(self, driver):
        self.driver = driver

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '')[len(PREFIX):] or '/'
        method = environ['REQUEST_METHOD']
        project = environ.get('HTTP_X_PROJECT_ID') or DEFAULT_PROJECT
        user = environ.get('HTTP_X_USER_ID') or DEFAULT_USER
        try:
            if method == 'POST' and path.rstrip('/') == '/servers':
                status, body = self._create(environ, project, user)
            elif _SERVER.match(path) and method == 'GET':
                status, body = '200 OK', {'server': self._show(
                    _SERVER.match(path).group(1), project)}
            elif _SERVER.match(path) and method == 'DELETE':
                self._show(_SERVER.match(path).group(1), project)
                self.driver.delete_server(_SERVER.match(path).group(1))
                status, body = '204 No Content', None
            else:
                status, body = '404 Not Found', _fault(404, f'No route {method} {path}')
        except exceptions.NotFound as error:
            status, body = '404 Not Found', _fault(404, error.message)
        except exceptions.ComputeError as error:
            code = error.status_code or 500
            status, body = f'{code} Error', _fault(code, error.message)
        payload = b'' if body is None else json.dumps(body).encode()
        start_response(status, [('Content-Type', 'application/json'),
                                ('Content-Length', str(len(payload))),
                                ('OpenStack-API-Version', 'compute 2.87'),
                                ('X-OpenStack-Nova-API-Version', '2.87')])
        return [payload]

    def _create(self, environ, project, user):
        length = int(environ.get('CONTENT_LENGTH') or 0)
        try:
            request = json.loads(environ['wsgi.input'].read(length) or b'{}')
            server = request['server']
            name, flavor = server['name'], str(server['flavorRef'])
            image = str(server.get('imageRef') or '')
        except (ValueError, KeyError, TypeError):
            return '400 Bad Request', _fault(400, 'Malformed request body')
        hints = request.get('os:scheduler_hints') or request.get('OS-SCH-HNT:scheduler_hints')
        with self.driver.acting_as(project, user):
            created = self.driver.create_server(
                name, flavor, image, scheduler_hints=hints,
                metadata=server.get('metadata'))
        return '202 Accepted', {'server': {'id': created.id, 'links': []}}

    def _show(self, server_id, project):
        server = self.driver.get_server(server_id)
        if server.project_id != project:
            raise exceptions.ServerNotFound(f'Instance {server_id} could not be found.')
        return {'id': server.id, 'name': server.name, 'status': server.status,
                'tenant_id': server.project_id, 'user_id': server.user_id,
                'metadata': server.metadata, 'OS-EXT-STS:task_state': server.task_state,
                'OS-EXT-SRV-ATTR:host': server.host,
                **({'fault': {'message': server.fault}} if server.fault else {})}


def _fault(code, message):
    return {'computeFault' if code >= 500 else 'itemNotFound' if code == 404 else
            'badRequest': {'code': code, 'message': message}}
