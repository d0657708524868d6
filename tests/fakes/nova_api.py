"""A test double of Nova's compute API (with a minimal Keystone v3 and Glance v2).

It stands in for Nova only until the integration tier runs Climate against a real Nova
(openstack-lite); keep it faithful to what Nova answers, not to what Climate expects.

``FakeNova`` is a stdlib WSGI app served by ``wsgiref`` on 127.0.0.1 (free port) in a
thread. The real keystoneauth password plugin authenticates against it and the real
python-novaclient talks to it, so the whole HTTP path of ``climate.compute.nova`` runs.

Speaks (under ``/compute/v2.1``; microversions 2.1 to 2.96 from the request headers):
  os-hypervisors (list, detail, show; ``hypervisor_hostname_pattern`` and
  ``with_servers``; integer ids before 2.53, UUIDs from 2.53; no vcpus/memory_mb/
  local_gb/cpu_info/running_vms from 2.88), os-services (host/binary filters, zone),
  os-aggregates (CRUD, actions add_host/remove_host/set_metadata with Nova's 404/409/400
  answers and availability-zone conflicts), servers (create, show, detail with
  ``all_tenants``/``host``/``node``/``limit``/``marker``, delete, actions
  shelve/unshelve/createImage, metadata), Glance ``GET /image/v2/images/{id}``, and
  Placement's providers, inventories and resource classes under ``/placement``
  (``tests.fakes.placement_api``, ``placement``; admin only, as Placement's policy).
  Keystone: ``GET /identity/v3`` (discovery), ``POST /identity/v3/auth/tokens``
  (password of the [nova] account, scoped to its project or to a trust; returns a
  catalog with compute, image, placement and identity endpoints) and trusts (below).

Who calls: every token acts as a user in a project with roles. The [nova] account
(``username``/``password``, user ``user_id``) has ``admin`` in ``project_id``;
``issue_user_token(user_id, project_id, roles)`` makes the token of any other user (as
keystonemiddleware would hand Climate's API), and makes that user and its role
assignment known. Nova's default policy applies to tokens without ``admin``:
os-hypervisors, os-services, os-aggregates, ``all_tenants`` and booting on a ``host``
answer 403, and servers of other projects are 404. A server booted, or an image made by
createImage, belongs to the calling token's project (and user); Glance shows an image
(with its ``owner``) to admins, to its owner project and, if public, to everyone.

Trusts, like Keystone's: ``POST /identity/v3/OS-TRUST/trusts`` (201; 400 without
``trustor_user_id``/``trustee_user_id``/``impersonation``; 403 unless the token's user
is the trustor, or with a project but no roles; 404 for an unknown trustee, or a role
the trustor lacks in the project), ``GET`` (trustor or trustee, else 403) and
``DELETE`` (trustor only, else 403; 204) of ``/identity/v3/OS-TRUST/trusts/{id}``, 404
when unknown. A password token scoped with ``{"OS-TRUST:trust": {"id": …}}`` is 401 for
an unknown trust and 403 unless the [nova] account is the trustee; it acts as the
trustor (impersonation) or the trustee in the trust's project with the delegated
roles. Deleting a trust revokes its tokens (401 afterwards). ``trusts`` holds them
(id -> the trust as Keystone shows it) and ``image_owner(image_id)`` reads an image's
owner.

Server actions are asynchronous like Nova's: the API answers 202 with a task_state
set, and the end state (SHELVED_OFFLOADED, ACTIVE, gone) appears ``action_delay``
seconds later (0 by default: at the next request).

Use::

    with FakeNova() as nova:                  # or the ``fake_nova`` pytest fixture
        host = nova.add_hypervisor('compute-1', vcpus=16)
        server_id = nova.add_server('vm-1', 'compute-1', project_id='p1')
        nova.configure(conf)                   # [nova] auth options pointing here
        nova.inject(status=503, method='POST', path='/os-aggregates', times=2)
        nova.inject(delay=2.0, path='/servers/detail')   # a slow answer
        nova.requests                          # [(method, path, query, microversion)]

``inject`` matches ``path`` as a regular expression searched in the request path and
``method`` exactly; ``after=True`` performs the request before failing it (the answer
is lost, the change is made). Injected faults are planned in a
``climate.compute.fixture.Faults`` (``faults``), the mechanism ``ComputeFaults`` uses
for the in-memory driver. ``revoke_tokens()`` makes every issued token invalid.
"""

import copy
import datetime
import itertools
import json
import re
import socketserver
import threading
import time
import urllib.parse
import uuid
from wsgiref import simple_server

from keystoneauth1 import loading as ks_loading

from climate.compute import fixture as compute_fixture
from tests.fakes import placement_api

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 96)
COMPUTE_PREFIX = '/compute/v2.1'
ERROR_NAMES = {400: 'badRequest', 403: 'forbidden', 404: 'itemNotFound',
               406: 'notAcceptable', 409: 'conflictingRequest', 429: 'overLimit',
               500: 'computeFault', 501: 'notImplemented', 503: 'serviceUnavailable'}
REASONS = {200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content',
           300: 'Multiple Choices', 400: 'Bad Request', 401: 'Unauthorized',
           403: 'Forbidden', 404: 'Not Found', 406: 'Not Acceptable', 409: 'Conflict',
           429: 'Too Many Requests', 500: 'Internal Server Error',
           501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
           504: 'Gateway Timeout'}
HYPERVISOR_FIELDS_REMOVED_IN_2_88 = (
    'vcpus', 'memory_mb', 'local_gb', 'vcpus_used', 'memory_mb_used', 'local_gb_used',
    'free_ram_mb', 'free_disk_gb', 'current_workload', 'running_vms',
    'disk_available_least', 'cpu_info')
VM_STATES = {'ACTIVE': 'active', 'BUILD': 'building', 'ERROR': 'error',
             'SHUTOFF': 'stopped', 'PAUSED': 'paused', 'SUSPENDED': 'suspended',
             'SHELVED': 'shelved', 'SHELVED_OFFLOADED': 'shelved_offloaded'}
SHELVABLE = ('ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED')
SNAPSHOTTABLE = SHELVABLE + ('SHELVED', 'SHELVED_OFFLOADED')


class HTTPError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    block_on_close = False
    # With the default backlog of 5, concurrent clients wait ~1 s for SYN retries.
    request_queue_size = 128


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


class FakeNova:
    """Nova + Keystone + Glance double; see the module docstring."""

    def __init__(self, *, freepool='freepool', action_delay=0.0, max_limit=1000,
                 username='climate', password='secret', project_name='service',
                 project_id='project-admin', region='RegionOne', user_id='user-climate'):
        self.action_delay = action_delay
        self.max_limit = max_limit
        self.username, self.password, self.user_id = username, password, user_id
        self.project_name, self.project_id, self.region = project_name, project_id, region
        self.lock = threading.RLock()
        self.hypervisors = {}     # uuid -> dict (static fields)
        self.aggregates = {}      # int id -> dict
        self.servers = {}         # id -> dict
        self.images = {}          # id -> dict
        self.placement = placement_api.FakePlacement()    # under /placement
        # token -> {'user_id', 'project_id', 'roles': [names], 'trust_id'}
        self.tokens = {}
        self.trusts = {}          # id -> the trust as Keystone shows it
        # Known users and their role names per project (what a trust may delegate).
        self.assignments = {user_id: {project_id: {'admin'}}}
        self._caller = None       # the token record of the request being handled
        self.token_requests = 0
        self.requests = []
        self.faults = compute_fixture.Faults()    # keyed by (method, path)
        self._ids = itertools.count(1)
        self._server_seq = itertools.count(1)
        self._httpd = None
        self._thread = None
        self.url = None
        if freepool:
            self._create_aggregate(freepool, None)

    # --- lifecycle ---------------------------------------------------------------------

    def start(self):
        self._httpd = simple_server.make_server('127.0.0.1', 0, self,
                                                server_class=_ThreadingWSGIServer,
                                                handler_class=_QuietHandler)
        self.url = f'http://127.0.0.1:{self._httpd.server_port}'
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={'poll_interval': 0.05}, daemon=True,
                                        name='fake-nova')
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(5)
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def identity_url(self):
        return f'{self.url}/identity/v3'

    @property
    def compute_url(self):
        return f'{self.url}{COMPUTE_PREFIX}'

    def options(self, timeout=10):
        """[nova] options that make Climate's Nova driver use this double."""
        return {'auth_type': 'password', 'auth_url': self.identity_url,
                'username': self.username, 'password': self.password,
                'project_name': self.project_name, 'user_domain_name': 'Default',
                'project_domain_name': 'Default', 'region_name': self.region,
                'timeout': timeout}

    def configure(self, conf, group='nova', timeout=10):
        """Set ``options()`` as overrides on ``conf`` (a ConfigOpts with Climate's)."""
        # The password plugin's options are registered by keystoneauth only when it
        # loads the plugin; register them now so that they can be overridden.
        conf.register_opts(ks_loading.get_auth_plugin_conf_options('password'),
                           group=group)
        for name, value in self.options(timeout).items():
            conf.set_override(name, value, group)

    def config_text(self, timeout=10):
        """The same as a ``[nova]`` section of a configuration file."""
        lines = ['[nova]'] + [f'{k} = {v}' for k, v in self.options(timeout).items()]
        return '\n'.join(lines) + '\n'

    # --- seeding and hooks -------------------------------------------------------------

    def add_hypervisor(self, hostname, vcpus=8, memory_mb=16384, local_gb=200,
                       hypervisor_type='QEMU', hypervisor_version=8002000,
                       service_host=None, id=None, state='up', status='enabled'):
        """A compute node and its nova-compute service; returns the hypervisor UUID."""
        with self.lock:
            record = {'id': id or str(uuid.uuid4()), 'int_id': next(self._ids),
                      'hypervisor_hostname': hostname,
                      'service_host': service_host or hostname,
                      'service_id': str(uuid.uuid4()), 'vcpus': vcpus,
                      'memory_mb': memory_mb, 'local_gb': local_gb,
                      'hypervisor_type': hypervisor_type,
                      'hypervisor_version': hypervisor_version, 'state': state,
                      'status': status, 'forced_down': False,
                      'disabled_reason': None,
                      'cpu_info': {'arch': 'x86_64', 'model': 'host-model',
                                   'vendor': 'Intel',
                                   'topology': {'sockets': 1, 'cores': vcpus,
                                                'threads': 1}}}
            self.hypervisors[record['id']] = record
            self.placement.add_provider(hostname, record['id'])
            return record['id']

    def add_server(self, name, host, project_id='project-a', status='ACTIVE',
                   metadata=None, user_id='user-a'):
        """A server that already exists on compute service host ``host``; its id."""
        with self.lock:
            offloaded = status == 'SHELVED_OFFLOADED'
            node = self._node_of(host)
            if node is None:
                raise ValueError(f'unknown host {host}')
            return self._new_server(name, project_id, user_id, status,
                                    None if offloaded else host,
                                    None if offloaded else node, metadata or {})['id']

    def add_image(self, name='image', status='active', owner=None,
                  visibility='public'):
        """An image in Glance (``owner`` defaults to the [nova] account's project)."""
        with self.lock:
            image_id = str(uuid.uuid4())
            self.images[image_id] = {'id': image_id, 'name': name, 'status': status,
                                     'owner': owner or self.project_id,
                                     'visibility': visibility, 'ready_at': None}
            return image_id

    def image_owner(self, image_id):
        """The project owning the image (KeyError if there is no such image)."""
        with self.lock:
            return self.images[image_id]['owner']

    def trust_ids(self):
        with self.lock:
            return set(self.trusts)

    def issue_user_token(self, user_id, project_id, roles=('member',)):
        """A token of ``user_id`` scoped to ``project_id`` with these role names, as
        a user's request to Climate's API carries; the user gets those roles there."""
        with self.lock:
            self.assignments.setdefault(user_id, {}).setdefault(
                project_id, set()).update(roles)
            token = uuid.uuid4().hex
            self.tokens[token] = {'user_id': user_id, 'project_id': project_id,
                                  'roles': list(roles), 'trust_id': None}
            return token

    def inject(self, status=500, method=None, path=None, times=1, delay=0.0,
               after=False, message='Injected failure'):
        """Make matching requests fail with ``status`` (None: only ``delay``)."""
        def matches(request):
            return (method is None or method == request[0]) and (
                path is None or re.search(path, request[1]) is not None)
        if status:
            self.faults.fail(matches, lambda request: HTTPError(status, message),
                             times=times, after=after)
        if delay:
            self.faults.delay(matches, delay, times=times)

    def clear_faults(self):
        self.faults.clear()

    def revoke_tokens(self):
        with self.lock:
            self.tokens.clear()

    def requests_to(self, method, path_regex):
        with self.lock:
            return [r for r in self.requests
                    if r[0] == method and re.search(path_regex, r[1])]

    # --- WSGI --------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        method = environ['REQUEST_METHOD']
        path = environ.get('PATH_INFO', '')
        query = urllib.parse.parse_qs(environ.get('QUERY_STRING', ''))
        version = self._microversion(environ)
        headers = [('Content-Type', 'application/json')]
        with self.lock:
            self.requests.append((method, path, environ.get('QUERY_STRING', ''),
                                  '%d.%d' % version if version else None))
        try:
            status, body, extra = self.faults.call(
                (method, path), self._dispatch, method, path, query, environ, version)
            headers.extend(extra)
        except placement_api.PlacementError as error:
            status, body = error.status, error.body()
        except HTTPError as error:
            status = error.status
            name = ERROR_NAMES.get(status, 'computeFault')
            body = {name: {'code': status, 'message': error.message}}
            if status == 401:
                body = {'error': {'code': 401, 'title': 'Unauthorized',
                                  'message': error.message}}
        payload = b'' if body is None else json.dumps(body).encode()
        headers.append(('Content-Length', str(len(payload))))
        start_response(f'{status} {REASONS.get(status, "Unknown")}', headers)
        return [payload]

    @staticmethod
    def _microversion(environ):
        value = environ.get('HTTP_X_OPENSTACK_NOVA_API_VERSION')
        header = environ.get('HTTP_OPENSTACK_API_VERSION', '')
        if header.startswith(('compute ', 'placement ')):
            value = header.split(' ', 1)[1]
        if not value:
            return None
        if value == 'latest':
            return MAX_VERSION
        major, minor = value.split('.')
        return int(major), int(minor)

    def _dispatch(self, method, path, query, environ, version):
        body = None
        if method in ('POST', 'PUT'):
            length = int(environ.get('CONTENT_LENGTH') or 0)
            raw = environ['wsgi.input'].read(length) if length else b''
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                raise HTTPError(400, 'Malformed request body') from None
        if path.startswith('/identity'):
            return self._identity(method, path[len('/identity'):], body, environ)
        with self.lock:
            # Handlers run under the lock, so they may read the caller from here.
            self._caller = self._check_token(environ)
            self._settle()
            if path.startswith('/image/'):
                return self._image(method, path[len('/image'):])
            if path.startswith('/placement/'):
                self._require_admin(f'{method} {path}')
                return self.placement.handle(method, path[len('/placement'):], query,
                                             body)
            if path.startswith(COMPUTE_PREFIX):
                version = version or MIN_VERSION
                if not MIN_VERSION <= version <= MAX_VERSION:
                    raise HTTPError(406, 'Version %d.%d is not supported by the API. '
                                         'Minimum is 2.1 and maximum is 2.96.' % version)
                return self._compute(method, path[len(COMPUTE_PREFIX):], query, body,
                                     version)
        raise HTTPError(404, 'The resource could not be found.')

    def _check_token(self, environ):
        """The record of the request's token; 401 if it is unknown or revoked."""
        token = environ.get('HTTP_X_AUTH_TOKEN')
        with self.lock:
            record = self.tokens.get(token)
            if record is not None and record['trust_id'] is not None and \
                    record['trust_id'] not in self.trusts:
                del self.tokens[token]
                record = None
        if record is None:
            raise HTTPError(401, 'The request you have made requires authentication.')
        return record

    def _is_admin(self):
        return 'admin' in self._caller['roles']

    def _require_admin(self, action):
        if not self._is_admin():
            raise HTTPError(403, f'Policy does not allow {action} to be performed.')

    # --- Keystone ----------------------------------------------------------------------

    def _identity(self, method, path, body, environ):
        media_type = 'application/vnd.openstack.identity-v3+json'
        version = {'id': 'v3.14', 'status': 'stable', 'updated': '2020-04-07T00:00:00Z',
                   'links': [{'rel': 'self', 'href': f'{self.identity_url}/'}],
                   'media-types': [{'base': 'application/json', 'type': media_type}]}
        if method == 'GET' and path.rstrip('/') == '/v3':
            return 200, {'version': version}, []
        if method == 'GET' and path.rstrip('/') == '':
            return 300, {'versions': {'values': [version]}}, []
        if method == 'POST' and path == '/v3/auth/tokens':
            return self._issue_token(body or {})
        if path.rstrip('/') == '/v3/OS-TRUST/trusts' and method == 'POST':
            with self.lock:
                return self._trust_create(self._check_token(environ), body)
        match = re.fullmatch(r'/v3/OS-TRUST/trusts/([^/]+)', path)
        if match and method in ('GET', 'DELETE'):
            with self.lock:
                caller = self._check_token(environ)
                trust = self.trusts.get(match.group(1))
                if trust is None:
                    raise HTTPError(404, f'Could not find trust: {match.group(1)}.')
                if method == 'GET':
                    if caller['user_id'] not in (trust['trustor_user_id'],
                                                 trust['trustee_user_id']):
                        raise HTTPError(403, 'Requested user has no relation to this '
                                             'trust')
                    return 200, {'trust': copy.deepcopy(trust)}, []
                if caller['user_id'] != trust['trustor_user_id']:
                    raise HTTPError(403, 'You are not authorized to perform the '
                                         'requested action: identity:delete_trust.')
                del self.trusts[trust['id']]
                for token, record in list(self.tokens.items()):
                    if record['trust_id'] == trust['id']:
                        del self.tokens[token]
                return 204, None, []
        raise HTTPError(404, 'The resource could not be found.')

    def _trust_create(self, caller, body):
        spec = (body or {}).get('trust') if isinstance(body, dict) else None
        if not isinstance(spec, dict):
            raise HTTPError(400, "'trust' is a required property")
        for field in ('trustor_user_id', 'trustee_user_id', 'impersonation'):
            if field not in spec:
                raise HTTPError(400, f"Invalid input for field '{field}': '{field}' is "
                                     f"a required property")
        if not isinstance(spec['impersonation'], bool):
            raise HTTPError(400, "Invalid input for field 'impersonation': "
                                 f"{spec['impersonation']!r} is not of type 'boolean'")
        roles = spec.get('roles') or []
        project_id = spec.get('project_id')
        if not isinstance(roles, list) or not all(
                isinstance(r, dict) and (r.get('id') or r.get('name')) for r in roles):
            raise HTTPError(400, "Invalid input for field 'roles'")
        if caller['trust_id'] is not None:
            raise HTTPError(403, 'Redelegation is not allowed by this trust')
        if project_id and not roles:
            raise HTTPError(403, 'At least one role should be specified')
        if caller['user_id'] != spec['trustor_user_id']:
            raise HTTPError(403, 'The authenticated user should match the trustor')
        if spec['trustee_user_id'] not in self.assignments:
            raise HTTPError(404, f"Could not find user: {spec['trustee_user_id']}.")
        held = self.assignments.get(spec['trustor_user_id'], {}).get(project_id, set())
        names = []
        for role in roles:
            name = role.get('name') or role['id'].removeprefix('role-')
            if name not in held:
                raise HTTPError(404, f"Could not find role: {role.get('id') or name}.")
            names.append(name)
        trust_id = uuid.uuid4().hex
        trust = {'id': trust_id, 'trustor_user_id': spec['trustor_user_id'],
                 'trustee_user_id': spec['trustee_user_id'], 'project_id': project_id,
                 'impersonation': spec['impersonation'],
                 'roles': [{'id': f'role-{name}', 'name': name, 'domain_id': None}
                           for name in dict.fromkeys(names)],
                 'expires_at': None, 'remaining_uses': None,
                 'allow_redelegation': False, 'redelegation_count': 0,
                 'links': {'self': f'{self.identity_url}/OS-TRUST/trusts/{trust_id}'}}
        self.trusts[trust_id] = trust
        return 201, {'trust': copy.deepcopy(trust)}, []

    def _issue_token(self, body):
        unauthorized = HTTPError(401, 'The request you have made requires '
                                      'authentication.')
        try:
            identity = body['auth']['identity']
            user = identity['password']['user']
            valid = (identity['methods'] == ['password'] and
                     (user.get('name') == self.username or
                      user.get('id') == self.user_id) and
                     user['password'] == self.password)
            scope = body['auth']['scope']
        except (KeyError, TypeError, AttributeError):
            valid = False
        if not valid:
            raise unauthorized
        extra = {}
        with self.lock:
            if isinstance(scope, dict) and 'OS-TRUST:trust' in scope:
                trust = self.trusts.get((scope['OS-TRUST:trust'] or {}).get('id'))
                if trust is None:
                    raise unauthorized    # Keystone: an unknown trust is a 401
                if trust['trustee_user_id'] != self.user_id:
                    raise HTTPError(403, 'User is not a trustee.')
                acting = (trust['trustor_user_id'] if trust['impersonation']
                          else trust['trustee_user_id'])
                record = {'user_id': acting, 'project_id': trust['project_id'],
                          'roles': [r['name'] for r in trust['roles']],
                          'trust_id': trust['id']}
                extra['OS-TRUST:trust'] = {
                    'id': trust['id'], 'impersonation': trust['impersonation'],
                    'trustor_user': {'id': trust['trustor_user_id']},
                    'trustee_user': {'id': trust['trustee_user_id']}}
            elif isinstance(scope, dict) and isinstance(scope.get('project'), dict) and \
                    scope['project'].get('name') == self.project_name:
                record = {'user_id': self.user_id, 'project_id': self.project_id,
                          'roles': ['admin'], 'trust_id': None}
            else:
                raise unauthorized
            token = uuid.uuid4().hex
            self.tokens[token] = record
            self.token_requests += 1

        def service(kind, name, url):
            return {'type': kind, 'name': name, 'id': uuid.uuid4().hex,
                    'endpoints': [{'id': uuid.uuid4().hex, 'interface': interface,
                                   'region': self.region, 'region_id': self.region,
                                   'url': url}
                                  for interface in ('public', 'internal', 'admin')]}
        domain = {'id': 'default', 'name': 'Default'}
        expires = (datetime.datetime.now(datetime.timezone.utc) +
                   datetime.timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%S.000000Z')
        user_name = (self.username if record['user_id'] == self.user_id
                     else record['user_id'])
        project_name = (self.project_name if record['project_id'] == self.project_id
                        else record['project_id'])
        token_body = {
            'methods': ['password'], 'expires_at': expires, 'issued_at': _now(),
            'user': {'id': record['user_id'], 'name': user_name, 'domain': domain,
                     'password_expires_at': None},
            'roles': [{'id': f'role-{name}', 'name': name} for name in record['roles']],
            'catalog': [service('compute', 'nova', self.compute_url),
                        service('image', 'glance', f'{self.url}/image'),
                        service('placement', 'placement', f'{self.url}/placement'),
                        service('identity', 'keystone', f'{self.url}/identity')],
            **extra}
        if record['project_id'] is not None:
            token_body['project'] = {'id': record['project_id'], 'name': project_name,
                                     'domain': domain}
        return 201, {'token': token_body}, [('X-Subject-Token', token)]

    # --- Glance ------------------------------------------------------------------------

    def _image(self, method, path):
        match = re.fullmatch(r'/v2/images/([^/]+)', path)
        if method == 'GET' and match:
            image = self.images.get(match.group(1))
            if image is None or not (self._is_admin() or image['visibility'] == 'public'
                                     or image['owner'] == self._caller['project_id']):
                raise HTTPError(404, f'No image found with ID {match.group(1)}')
            return 200, {k: v for k, v in image.items() if k != 'ready_at'}, []
        raise HTTPError(404, 'The resource could not be found.')

    # --- state helpers -----------------------------------------------------------------

    def _settle(self):
        now = time.monotonic()
        for server in list(self.servers.values()):
            pending = server.get('pending')
            if pending is not None and pending[0] <= now:
                server['pending'] = None
                pending[1](server)
        for image in self.images.values():
            if image['ready_at'] is not None and image['ready_at'] <= now:
                image['status'], image['ready_at'] = 'active', None

    def _later(self, server, task_state, finish):
        server['task_state'] = task_state
        server['pending'] = (time.monotonic() + self.action_delay, finish)

    def _node_of(self, host):
        for hypervisor in self.hypervisors.values():
            if hypervisor['service_host'] == host:
                return hypervisor['hypervisor_hostname']
        return None

    def _zone_of(self, host):
        for aggregate in sorted(self.aggregates.values(), key=lambda a: a['id']):
            if aggregate['az'] and host in aggregate['hosts']:
                return aggregate['az']
        return 'nova'

    def _new_server(self, name, project_id, user_id, status, host, node, metadata):
        server = {'id': str(uuid.uuid4()), 'seq': next(self._server_seq), 'name': name,
                  'tenant_id': project_id, 'user_id': user_id, 'status': status,
                  'host': host, 'node': node, 'metadata': dict(metadata),
                  'task_state': None, 'fault': None, 'pending': None,
                  'created': _now()}
        self.servers[server['id']] = server
        return server

    def _create_aggregate(self, name, az):
        aggregate = {'id': next(self._ids), 'uuid': str(uuid.uuid4()), 'name': name,
                     'az': az, 'hosts': [], 'metadata': {}, 'created_at': _now()}
        self.aggregates[aggregate['id']] = aggregate
        return aggregate

    def _pick_host(self, az=None):
        loads = {}
        for hypervisor in self.hypervisors.values():
            host = hypervisor['service_host']
            if az is None or self._zone_of(host) == az:
                loads[host] = sum(1 for s in self.servers.values() if s['host'] == host)
        return min(loads, key=lambda h: (loads[h], h)) if loads else None

    # --- compute API -------------------------------------------------------------------

    def _compute(self, method, path, query, body, version):
        routes = [
            ('GET', r'/os-hypervisors(/detail)?', self._hypervisor_list),
            ('GET', r'/os-hypervisors/([^/]+)', self._hypervisor_show),
            ('GET', r'/os-services', self._service_list),
            ('PUT', r'/os-services/([^/]+)', self._service_update),
            ('GET', r'/os-aggregates', self._aggregate_list),
            ('POST', r'/os-aggregates', self._aggregate_create),
            ('GET', r'/os-aggregates/(\d+)', self._aggregate_show),
            ('DELETE', r'/os-aggregates/(\d+)', self._aggregate_delete),
            ('POST', r'/os-aggregates/(\d+)/action', self._aggregate_action),
            ('GET', r'/servers(/detail)?', self._server_list),
            ('POST', r'/servers', self._server_create),
            ('GET', r'/servers/([^/]+)', self._server_show),
            ('DELETE', r'/servers/([^/]+)', self._server_delete),
            ('POST', r'/servers/([^/]+)/action', self._server_action),
            ('GET', r'/servers/([^/]+)/metadata', self._metadata_show),
            ('POST', r'/servers/([^/]+)/metadata', self._metadata_update),
            ('DELETE', r'/servers/([^/]+)/metadata/([^/]+)', self._metadata_delete),
        ]
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                if re.match(r'/os-(hypervisors|services|aggregates)', path):
                    self._require_admin(f'{method} {path}')
                return handler(*match.groups(), query=query, body=body, version=version)
        raise HTTPError(404, 'The resource could not be found.')

    # hypervisors and services

    def _render_hypervisor(self, hypervisor, version, with_servers=False):
        running = [s for s in self.servers.values()
                   if s['node'] == hypervisor['hypervisor_hostname']]
        data = {'id': hypervisor['id'] if version >= (2, 53) else hypervisor['int_id'],
                'hypervisor_hostname': hypervisor['hypervisor_hostname'],
                'state': hypervisor['state'], 'status': hypervisor['status'],
                'hypervisor_type': hypervisor['hypervisor_type'],
                'hypervisor_version': hypervisor['hypervisor_version'],
                'host_ip': '192.0.2.1',
                'service': {'host': hypervisor['service_host'],
                            'id': hypervisor['service_id'] if version >= (2, 53)
                            else hypervisor['int_id'], 'disabled_reason': None},
                'vcpus': hypervisor['vcpus'], 'memory_mb': hypervisor['memory_mb'],
                'local_gb': hypervisor['local_gb'], 'vcpus_used': 0,
                'memory_mb_used': 512, 'local_gb_used': 0,
                'free_ram_mb': hypervisor['memory_mb'] - 512,
                'free_disk_gb': hypervisor['local_gb'], 'current_workload': 0,
                'running_vms': len(running), 'disk_available_least': 0,
                'cpu_info': copy.deepcopy(hypervisor['cpu_info']) if version >= (2, 28)
                else json.dumps(hypervisor['cpu_info'])}
        if version >= (2, 88):
            for field in HYPERVISOR_FIELDS_REMOVED_IN_2_88:
                del data[field]
            data['uptime'] = 'up 1 day'
        if with_servers and running:
            data['servers'] = [{'uuid': s['id'], 'name': s['name']} for s in running]
        return data

    def _hypervisor_list(self, detail, query, body, version):
        found = sorted(self.hypervisors.values(), key=lambda h: h['int_id'])
        pattern = query.get('hypervisor_hostname_pattern', [None])[0]
        if pattern is not None:
            found = [h for h in found if pattern in h['hypervisor_hostname']]
            if not found:
                raise HTTPError(404, f'No hypervisor matching {pattern} could be found.')
        marker = query.get('marker', [None])[0]
        if marker is not None:
            ids = [str(h['id'] if version >= (2, 53) else h['int_id']) for h in found]
            if marker not in ids:
                raise HTTPError(400, f'marker [{marker}] not found')
            found = found[ids.index(marker) + 1:]
        limit = min(int(query.get('limit', [self.max_limit])[0]), self.max_limit)
        with_servers = query.get('with_servers', ['false'])[0].lower() in ('true', '1')
        rendered = []
        for hypervisor in found[:limit]:
            data = self._render_hypervisor(hypervisor, version, with_servers)
            if not detail:
                brief = ('id', 'hypervisor_hostname', 'state', 'status', 'servers')
                data = {k: v for k, v in data.items() if k in brief}
            rendered.append(data)
        return 200, {'hypervisors': rendered}, []

    def _hypervisor_show(self, hypervisor_id, query, body, version):
        if version >= (2, 53):
            try:
                uuid.UUID(hypervisor_id)
            except ValueError:
                raise HTTPError(400, f'Invalid uuid {hypervisor_id}') from None
            hypervisor = self.hypervisors.get(hypervisor_id)
        else:
            hypervisor = next((h for h in self.hypervisors.values()
                               if str(h['int_id']) == hypervisor_id), None)
        if hypervisor is None:
            raise HTTPError(404, f'Hypervisor with ID {hypervisor_id} could not be '
                                 f'found.')
        with_servers = query.get('with_servers', ['false'])[0].lower() in ('true', '1')
        return 200, {'hypervisor': self._render_hypervisor(hypervisor, version,
                                                           with_servers)}, []

    def _service_list(self, query, body, version):
        host = query.get('host', [None])[0]
        binary = query.get('binary', [None])[0]
        services = []
        for hypervisor in sorted(self.hypervisors.values(), key=lambda h: h['int_id']):
            if host not in (None, hypervisor['service_host']) or \
                    binary not in (None, 'nova-compute'):
                continue
            services.append({
                'id': hypervisor['service_id'] if version >= (2, 53)
                else hypervisor['int_id'], 'binary': 'nova-compute',
                'host': hypervisor['service_host'],
                'zone': self._zone_of(hypervisor['service_host']),
                'status': hypervisor['status'],
                'state': 'down' if hypervisor['forced_down'] else hypervisor['state'],
                'updated_at': _now(), 'disabled_reason': hypervisor['disabled_reason'],
                'forced_down': hypervisor['forced_down']})
        return 200, {'services': services}, []

    def _service_update(self, service_id, query, body, version):
        """``PUT /os-services/{id}`` (2.53+): status, disabled_reason, forced_down."""
        if version < (2, 53):
            raise HTTPError(404, 'The resource could not be found.')
        found = [h for h in self.hypervisors.values() if h['service_id'] == service_id]
        if not found:
            raise HTTPError(404, f'Service {service_id} not found.')
        hypervisor = found[0]
        if body.get('status') not in (None, 'enabled', 'disabled'):
            raise HTTPError(400, 'Invalid input for field/attribute status.')
        if 'status' in body:
            hypervisor['status'] = body['status']
            hypervisor['disabled_reason'] = (body.get('disabled_reason')
                                             if body['status'] == 'disabled' else None)
        if 'forced_down' in body:
            hypervisor['forced_down'] = bool(body['forced_down'])
        return 200, {'service': {
            'id': service_id, 'binary': 'nova-compute', 'host': hypervisor['service_host'],
            'status': hypervisor['status'], 'forced_down': hypervisor['forced_down'],
            'disabled_reason': hypervisor['disabled_reason'],
            'state': 'down' if hypervisor['forced_down'] else hypervisor['state'],
            'zone': self._zone_of(hypervisor['service_host']),
            'updated_at': _now()}}, []

    def set_service(self, host, **fields):
        """Change the nova-compute service of ``host`` (``state``, ``status``,
        ``forced_down``, ``disabled_reason``) as a dead host or an operator would."""
        with self.lock:
            for hypervisor in self.hypervisors.values():
                if hypervisor['service_host'] == host:
                    hypervisor.update(fields)
                    return
        raise KeyError(host)

    # aggregates

    def _render_aggregate(self, aggregate, version):
        metadata = dict(aggregate['metadata'])
        if aggregate['az']:
            metadata['availability_zone'] = aggregate['az']
        data = {'id': aggregate['id'], 'name': aggregate['name'],
                'availability_zone': aggregate['az'], 'hosts': list(aggregate['hosts']),
                'metadata': metadata, 'created_at': aggregate['created_at'],
                'updated_at': None, 'deleted': False, 'deleted_at': None}
        if version >= (2, 41):
            data['uuid'] = aggregate['uuid']
        return data

    def _aggregate(self, aggregate_id):
        aggregate = self.aggregates.get(int(aggregate_id))
        if aggregate is None:
            raise HTTPError(404, f'Aggregate {aggregate_id} could not be found.')
        return aggregate

    @staticmethod
    def _check_az(az):
        if az is not None and (not isinstance(az, str) or ':' in az or not az.strip()
                               or len(az) > 255):
            raise HTTPError(400, f"Invalid input for field/attribute availability_zone. "
                                 f"Value: {az}. '{az}' does not match '^[^:]*$'")

    def _aggregate_list(self, query, body, version):
        return 200, {'aggregates': [self._render_aggregate(a, version)
                                    for a in self.aggregates.values()]}, []

    def _aggregate_create(self, query, body, version):
        spec = (body or {}).get('aggregate')
        if not isinstance(spec, dict) or not isinstance(spec.get('name'), str) or \
                not spec['name'].strip() or len(spec['name']) > 255:
            raise HTTPError(400, "Invalid input for field/attribute name.")
        self._check_az(spec.get('availability_zone'))
        if any(a['name'] == spec['name'] for a in self.aggregates.values()):
            raise HTTPError(409, f"Aggregate {spec['name']} already exists.")
        aggregate = self._create_aggregate(spec['name'], spec.get('availability_zone'))
        return 200, {'aggregate': self._render_aggregate(aggregate, version)}, []

    def _aggregate_show(self, aggregate_id, query, body, version):
        return 200, {'aggregate': self._render_aggregate(
            self._aggregate(aggregate_id), version)}, []

    def _aggregate_delete(self, aggregate_id, query, body, version):
        aggregate = self._aggregate(aggregate_id)
        if aggregate['hosts']:
            raise HTTPError(400, f'Cannot remove aggregate {aggregate_id}. Reason: Host '
                                 f'aggregate is not empty.')
        del self.aggregates[aggregate['id']]
        return 200, None, []

    def _zone_conflict(self, aggregate, host, az):
        if az is None:
            return None
        return next((other['az'] for other in self.aggregates.values()
                     if other is not aggregate and host in other['hosts']
                     and other['az'] not in (None, az)), None)

    def _aggregate_action(self, aggregate_id, query, body, version):
        aggregate = self._aggregate(aggregate_id)
        if not isinstance(body, dict) or len(body) != 1:
            raise HTTPError(400, 'Invalid aggregate action')
        action, args = next(iter(body.items()))
        if action in ('add_host', 'remove_host'):
            host = (args or {}).get('host')
            if self._node_of(host) is None:
                raise HTTPError(404, f'Compute host {host} could not be found.')
            if action == 'add_host':
                if host in aggregate['hosts']:
                    raise HTTPError(409, f'Cannot add host {host} in aggregate '
                                         f'{aggregate_id}: host exists')
                conflict = self._zone_conflict(aggregate, host, aggregate['az'])
                if conflict:
                    raise HTTPError(409, f'Cannot add host to aggregate {aggregate_id}. '
                                         f'Reason: One or more hosts already in '
                                         f"availability zone(s) ['{conflict}'].")
                aggregate['hosts'].append(host)
            else:
                if host not in aggregate['hosts']:
                    raise HTTPError(404, f'Cannot remove host {host} in aggregate '
                                         f'{aggregate_id}: host not found')
                aggregate['hosts'].remove(host)
        elif action == 'set_metadata':
            metadata = (args or {}).get('metadata')
            if not isinstance(metadata, dict) or any(
                    not isinstance(k, str) or not k or len(k) > 255 or
                    (v is not None and (not isinstance(v, str) or len(v) > 255))
                    for k, v in metadata.items()):
                raise HTTPError(400, 'Invalid input for field/attribute metadata.')
            if 'availability_zone' in metadata:
                az = metadata['availability_zone']
                self._check_az(az)
                for host in aggregate['hosts']:
                    if self._zone_conflict(aggregate, host, az):
                        raise HTTPError(409, f'Cannot update aggregate {aggregate_id}: '
                                             f'host {host} is in another availability '
                                             f'zone')
                aggregate['az'] = az
            for key, value in metadata.items():
                if key == 'availability_zone':
                    continue
                if value is None:
                    aggregate['metadata'].pop(key, None)
                else:
                    aggregate['metadata'][key] = value
        else:
            raise HTTPError(400, f'Invalid aggregate action {action}')
        return 200, {'aggregate': self._render_aggregate(aggregate, version)}, []

    # servers

    def _render_server(self, server, version):
        data = {'id': server['id'], 'name': server['name'], 'status': server['status'],
                'tenant_id': server['tenant_id'], 'user_id': server['user_id'],
                'metadata': dict(server['metadata']),
                'OS-EXT-SRV-ATTR:host': server['host'],
                'OS-EXT-SRV-ATTR:hypervisor_hostname': server['node'],
                'OS-EXT-STS:task_state': server['task_state'],
                'OS-EXT-STS:vm_state': VM_STATES.get(server['status'], 'active'),
                'OS-EXT-AZ:availability_zone':
                    self._zone_of(server['host']) if server['host'] else '',
                'created': server['created'], 'updated': _now(), 'addresses': {},
                'links': [{'rel': 'self',
                           'href': f"{self.compute_url}/servers/{server['id']}"}]}
        if server['fault']:
            data['fault'] = {'code': 500, 'message': server['fault'], 'created': _now()}
        return data

    def _server(self, server_id):
        server = self.servers.get(server_id)
        if server is None or not (self._is_admin() or
                                  server['tenant_id'] == self._caller['project_id']):
            raise HTTPError(404, f'Instance {server_id} could not be found.')
        return server

    def _server_list(self, detail, query, body, version):
        def arg(name):
            return query.get(name, [None])[0]
        all_tenants = (arg('all_tenants') or 'false').lower() in ('true', '1', '')
        if all_tenants:
            self._require_admin('servers:detail:get_all_tenants')
        found = sorted(self.servers.values(), key=lambda s: -s['seq'])
        if not all_tenants:
            found = [s for s in found if s['tenant_id'] == self._caller['project_id']]
        for name, key in (('host', 'host'), ('node', 'node'),
                          ('project_id', 'tenant_id'), ('status', 'status')):
            if arg(name) is not None:
                found = [s for s in found if s[key] == arg(name)]
        if arg('marker') is not None:
            ids = [s['id'] for s in found]
            if arg('marker') not in ids:
                raise HTTPError(400, f"marker [{arg('marker')}] not found")
            found = found[ids.index(arg('marker')) + 1:]
        limit = min(int(arg('limit') or self.max_limit), self.max_limit)
        rendered = [self._render_server(s, version) for s in found[:limit]]
        if not detail:
            rendered = [{k: s[k] for k in ('id', 'name', 'links')} for s in rendered]
        return 200, {'servers': rendered}, []

    def _server_show(self, server_id, query, body, version):
        return 200, {'server': self._render_server(self._server(server_id), version)}, []

    def _server_create(self, query, body, version):
        spec = (body or {}).get('server')
        if not isinstance(spec, dict) or not spec.get('name'):
            raise HTTPError(400, "Invalid input for field/attribute server.")
        if version >= (2, 37) and 'networks' not in spec:
            raise HTTPError(400, "Invalid input for field/attribute server. Value: "
                                 "'networks' is a required property")
        host = spec.get('host')
        if host is not None:
            if version < (2, 74):
                raise HTTPError(400, "Additional properties are not allowed ('host')")
            self._require_admin('compute:servers:create:requested_destination')
            if self._node_of(host) is None:
                raise HTTPError(400, f'Compute host {host} could not be found.')
        az = spec.get('availability_zone')
        server = self._new_server(spec['name'], self._caller['project_id'],
                                  self._caller['user_id'], 'BUILD', None, None,
                                  spec.get('metadata') or {})
        server['scheduler_hints'] = (body or {}).get('os:scheduler_hints') or {}
        server['networks'] = spec.get('networks')

        def finish(s):
            chosen = host or self._pick_host(az)
            if chosen is None:
                s['status'], s['fault'] = 'ERROR', 'No valid host was found. '
            else:
                s.update(status='ACTIVE', host=chosen, node=self._node_of(chosen))
            s['task_state'] = None
        self._later(server, 'scheduling', finish)
        return 202, {'server': {'id': server['id'], 'links': [], 'adminPass': 'x',
                                'OS-DCF:diskConfig': 'MANUAL',
                                'security_groups': [{'name': 'default'}]}}, []

    def _server_delete(self, server_id, query, body, version):
        server = self._server(server_id)
        if server['task_state'] != 'deleting':
            self._later(server, 'deleting', lambda s: self.servers.pop(s['id'], None))
        return 204, None, []

    @staticmethod
    def _conflict(server, action):
        state = (f"task_state {server['task_state']}" if server['task_state']
                 else f"vm_state {VM_STATES.get(server['status'], 'active')}")
        return HTTPError(409, f"Cannot '{action}' instance {server['id']} while it is "
                              f"in {state}")

    def _server_action(self, server_id, query, body, version):
        server = self._server(server_id)
        if not isinstance(body, dict) or len(body) != 1:
            raise HTTPError(400, 'Invalid server action')
        action, args = next(iter(body.items()))
        if action == 'shelve':
            if server['status'] not in SHELVABLE or server['task_state']:
                raise self._conflict(server, 'shelve')

            def offloaded(s):
                s.update(status='SHELVED_OFFLOADED', task_state=None, host=None,
                         node=None)
            self._later(server, 'shelving', offloaded)
            return 202, None, []
        if action == 'unshelve':
            if server['status'] not in ('SHELVED', 'SHELVED_OFFLOADED') or \
                    server['task_state']:
                raise self._conflict(server, 'unshelve')

            def active(s):
                host = self._pick_host()
                if host is None:
                    s.update(status='ERROR', fault='No valid host was found. ')
                else:
                    s.update(status='ACTIVE', host=host, node=self._node_of(host))
                s['task_state'] = None
            self._later(server, 'unshelving', active)
            return 202, None, []
        if action == 'createImage':
            if not isinstance(args, dict) or not args.get('name'):
                raise HTTPError(400, 'Invalid input for field/attribute createImage.')
            if server['status'] not in SNAPSHOTTABLE or server['task_state']:
                raise self._conflict(server, 'createImage')
            image_id = str(uuid.uuid4())
            self.images[image_id] = {'id': image_id, 'name': args['name'],
                                     'status': 'queued',
                                     'owner': self._caller['project_id'],
                                     'visibility': 'shared',
                                     'ready_at': time.monotonic() + self.action_delay}
            self._later(server, 'image_snapshot', lambda s: s.update(task_state=None))
            if version >= (2, 45):
                return 202, {'image_id': image_id}, []
            return 202, None, [('Location', f'{self.url}/image/v2/images/{image_id}')]
        raise HTTPError(400, f'Invalid server action {action}')

    def _metadata_show(self, server_id, query, body, version):
        return 200, {'metadata': dict(self._server(server_id)['metadata'])}, []

    def _metadata_update(self, server_id, query, body, version):
        server = self._server(server_id)
        metadata = (body or {}).get('metadata')
        if not isinstance(metadata, dict) or any(
                not isinstance(v, str) for v in metadata.values()):
            raise HTTPError(400, 'Invalid input for field/attribute metadata.')
        server['metadata'].update(metadata)
        return 200, {'metadata': dict(server['metadata'])}, []

    def _metadata_delete(self, server_id, key, query, body, version):
        server = self._server(server_id)
        if key not in server['metadata']:
            raise HTTPError(404, 'Metadata item was not found')
        del server['metadata'][key]
        return 204, None, []
