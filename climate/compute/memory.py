"""An in-process simulation of Nova for the quickstart and for tests.

It behaves like the Nova driver for every method: the same statuses and task states
(shelve ends in SHELVED_OFFLOADED, actions take ``[compute_memory] action_delay``
seconds), the same not-found errors and idempotency, aggregates holding compute service
hosts with Nova's availability-zone rules, and the ``[nova] aggregate_freepool_name``
aggregate already created (as the operator would). State lives in this object only.

Test hooks (not part of ``ComputeDriver``):

- ``inject_failure(method, times=1, retryable=True, error=None, after=False)``: the
  next ``times`` calls of ``method`` raise (a retryable ``ComputeError`` by default, or
  ``error``); ``after=True`` performs the call first, like a request whose answer is lost.
- ``inject_delay(method, seconds, times=None)``: calls of ``method`` take ``seconds``
  longer (``times=None``: until ``clear_faults``).
- ``clear_faults()``, ``call_count(method)``.
- ``add_hypervisor(hostname, …)``, ``add_server(name, host, …)`` seed the world.
- ``image_owner(image_id)``: the project owning an image (``project_id`` for images
  made by this driver, the trustor's for images made through ``acting_for``).
- ``trusts()``: a copy of the live trusts, id -> ``{'project_id', 'user_id', 'roles'}``;
  ``trust_ids()``: their ids.
- ``issue_user_token(user_id, project_id, roles)``: a token for a user's request
  context (any token does here; ``FakeNova`` has the same hook, with real checks).

Trusts are simulated without Keystone: ``create_trust`` needs a context with a token,
user, project and roles (it does not check the token), and ``acting_for(trust_id)`` is a
view of the same simulated Nova whose calls act as the trustor: servers it boots and
images it makes belong to the trustor's project (and user). No Nova policy is
simulated: the view may also call what only admins may call in Nova. Once the trust is
deleted every call through the view raises ``ComputeError`` (status 401, not
retryable). Injected failures and delays apply to calls through the view too, and
count in ``call_count``.
"""

import copy
import dataclasses
import functools
import threading
import time
import uuid

from oslo_serialization import jsonutils

from climate.compute import base
from climate.compute import exceptions

DEFAULT_AZ = 'nova'
_NAMESPACE = uuid.UUID('5d1bd0a4-8c1a-4f43-9a4f-7f43d0c9e0a1')
_INT_FIELDS = ('vcpus', 'memory_mb', 'local_gb', 'hypervisor_version')
_STR_FIELDS = ('hypervisor_type', 'service_host', 'id')
_SHELVABLE = ('ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED')
_SNAPSHOTTABLE = _SHELVABLE + (base.SHELVED, base.SHELVED_OFFLOADED)


def parse_hypervisors(items):
    """``[compute_memory] hypervisors`` items as dicts of Hypervisor fields."""
    parsed = []
    for item in items:
        name, *fields = item.strip().split(':')
        if not name:
            raise ValueError(f'[compute_memory] hypervisors: empty host name in {item!r}')
        spec = {}
        for field in fields:
            key, sep, value = field.partition('=')
            if not sep or key not in _INT_FIELDS + _STR_FIELDS:
                raise ValueError(f'[compute_memory] hypervisors: {field!r} in {item!r} '
                                 f'is not one of {", ".join(_INT_FIELDS + _STR_FIELDS)} '
                                 f'followed by =value')
            try:
                spec[key] = int(value) if key in _INT_FIELDS else value
            except ValueError:
                raise ValueError(f'[compute_memory] hypervisors: {key} must be an '
                                 f'integer in {item!r}') from None
        parsed.append((name, spec))
    return parsed


def _hooked(method):
    """Apply the injected failures and delays of this method name, count the call."""
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        failure, delay = self._take_faults(name)
        if delay:
            time.sleep(delay)
        if failure is not None and not failure.after:
            raise failure.make(name)
        self._caller()      # a call through a deleted trust fails here
        result = method(self, *args, **kwargs)
        if failure is not None:
            raise failure.make(name)
        return result
    return wrapper


@dataclasses.dataclass
class _Failure:
    remaining: int
    retryable: bool
    error: object
    after: bool

    def make(self, method):
        if isinstance(self.error, BaseException):
            return self.error
        if isinstance(self.error, type):
            return self.error(f'injected failure of {method}')
        return exceptions.ComputeError(f'injected failure of {method}',
                                       retryable=self.retryable,
                                       status_code=503 if self.retryable else 400)


@dataclasses.dataclass
class _Delay:
    remaining: int | None
    seconds: float


@dataclasses.dataclass
class _ServerRecord:
    id: str
    name: str
    status: str
    project_id: str
    user_id: str | None
    host: str | None
    node: str | None
    metadata: dict
    task_state: str | None = None
    fault: str | None = None
    pending: tuple | None = None      # (ready_at, function applying the end state)


class MemoryDriver(base.ComputeDriver):
    """Compute driver simulating Nova in memory; thread-safe."""

    # The project and user the simulated credentials belong to (create_server).
    project_id = 'project-a'
    user_id = 'user-a'

    def __init__(self, conf):
        # Polling memory is cheap; do not make the quickstart wait 5 s per check.
        super().__init__(conf.compute.wait_timeout, min(conf.compute.poll_interval, 0.05))
        self.action_delay = conf.compute_memory.action_delay
        self.freepool_name = conf.nova.aggregate_freepool_name
        self._lock = threading.RLock()
        self._hypervisors = {}        # hypervisor_hostname -> Hypervisor (static fields)
        self._servers = {}            # id -> _ServerRecord
        self._aggregates = {}         # id -> {'name', 'az', 'hosts', 'metadata', 'uuid'}
        self._next_aggregate_id = 1
        self._images = {}             # id -> {'status', 'pending'}
        self._failures = {}
        self._delays = {}
        self._calls = {}
        self._trusts = {}             # id -> {'project_id', 'user_id', 'roles'}
        self._acting = threading.local()  # .trust_id: the trust of the current call
        for name, spec in parse_hypervisors(conf.compute_memory.hypervisors):
            self.add_hypervisor(name, **spec)
        self._create_aggregate(self.freepool_name, None)

    # --- test hooks --------------------------------------------------------------------

    def inject_failure(self, method, times=1, retryable=True, error=None, after=False):
        self._check_hookable(method)
        with self._lock:
            self._failures.setdefault(method, []).append(
                _Failure(times, retryable, error, after))

    def inject_delay(self, method, seconds, times=None):
        self._check_hookable(method)
        with self._lock:
            self._delays[method] = _Delay(times, seconds)

    def clear_faults(self):
        with self._lock:
            self._failures.clear()
            self._delays.clear()

    def call_count(self, method):
        with self._lock:
            return self._calls.get(method, 0)

    def image_owner(self, image_id):
        """The project owning the image (KeyError if there is no such image)."""
        with self._lock:
            return self._images[image_id]['owner']

    def trusts(self):
        with self._lock:
            return copy.deepcopy(self._trusts)

    def trust_ids(self):
        with self._lock:
            return set(self._trusts)

    def issue_user_token(self, user_id, project_id, roles=('member',)):
        return uuid.uuid4().hex

    def _check_hookable(self, method):
        if not hasattr(getattr(type(self), method, None), '__wrapped__'):
            raise ValueError(f'{method!r} is not a compute driver method')

    def _take_faults(self, method):
        with self._lock:
            self._calls[method] = self._calls.get(method, 0) + 1
            failure = None
            queue = self._failures.get(method)
            if queue:
                failure = queue[0]
                failure.remaining -= 1
                if failure.remaining <= 0:
                    queue.pop(0)
            delay = self._delays.get(method)
            seconds = 0.0
            if delay is not None:
                seconds = delay.seconds
                if delay.remaining is not None:
                    delay.remaining -= 1
                    if delay.remaining <= 0:
                        del self._delays[method]
            return failure, seconds

    def add_hypervisor(self, hostname, vcpus=8, memory_mb=16384, local_gb=200,
                       hypervisor_type='QEMU', hypervisor_version=8002000,
                       service_host=None, id=None):
        cpu_info = jsonutils.dumps({'arch': 'x86_64', 'model': 'host-model',
                                    'vendor': 'Intel',
                                    'topology': {'sockets': 1, 'cores': vcpus,
                                                 'threads': 1}}, sort_keys=True)
        hypervisor = base.Hypervisor(
            id=id or str(uuid.uuid5(_NAMESPACE, hostname)), hypervisor_hostname=hostname,
            service_host=service_host or hostname, vcpus=vcpus, memory_mb=memory_mb,
            local_gb=local_gb, cpu_info=cpu_info, hypervisor_type=hypervisor_type,
            hypervisor_version=hypervisor_version, availability_zone=DEFAULT_AZ,
            running_vms=0)
        with self._lock:
            self._hypervisors[hostname] = hypervisor
        return hypervisor.id

    def add_server(self, name, host, project_id='project-a', status=base.ACTIVE,
                   metadata=None, user_id='user-a'):
        """A server that already exists on the compute service host ``host``."""
        with self._lock:
            node = self._node_of(host)
            record = _ServerRecord(str(uuid.uuid4()), name, status, project_id, user_id,
                                   None if status == base.SHELVED_OFFLOADED else host,
                                   None if status == base.SHELVED_OFFLOADED else node,
                                   dict(metadata or {}))
            self._servers[record.id] = record
            return record.id

    # --- internals ---------------------------------------------------------------------

    def _caller(self):
        """(project_id, user_id) the current call acts as: this driver's credentials,
        or the trustor's for a call through ``acting_for``.

        :raises ComputeError: (401) the trust of the call was deleted.
        """
        trust_id = getattr(self._acting, 'trust_id', None)
        if trust_id is None:
            return self.project_id, self.user_id
        with self._lock:
            trust = self._trusts.get(trust_id)
        if trust is None:
            raise exceptions.ComputeError(
                f'Trust {trust_id} is not valid any more (deleted or unknown)',
                retryable=False, status_code=401)
        return trust['project_id'], trust['user_id']

    def _call_as(self, trust_id, name, args, kwargs):
        """Call the driver method ``name`` acting as the trustor of ``trust_id``."""
        previous = getattr(self._acting, 'trust_id', None)
        self._acting.trust_id = trust_id
        try:
            return getattr(self, name)(*args, **kwargs)
        finally:
            self._acting.trust_id = previous

    def _settle(self):
        """Complete every action whose delay has passed (Nova's async work)."""
        now = time.monotonic()
        for record in list(self._servers.values()):
            if record.pending is not None and record.pending[0] <= now:
                finish, record.pending = record.pending[1], None
                finish()
        for image in self._images.values():
            if image['pending'] is not None and image['pending'] <= now:
                image['status'], image['pending'] = base.IMAGE_ACTIVE, None

    def _later(self, record, task_state, finish):
        record.task_state = task_state
        record.pending = (time.monotonic() + self.action_delay, finish)

    def _node_of(self, host):
        for hypervisor in self._hypervisors.values():
            if hypervisor.service_host == host:
                return hypervisor.hypervisor_hostname
        raise exceptions.ComputeHostNotFound(f'Compute host {host} could not be found.')

    def _zone_of(self, host):
        for aggregate in sorted(self._aggregates.values(), key=lambda a: a['id']):
            if aggregate['az'] and host in aggregate['hosts']:
                return aggregate['az']
        return DEFAULT_AZ

    def _hypervisor(self, hypervisor):
        running = sum(1 for s in self._servers.values()
                      if s.node == hypervisor.hypervisor_hostname)
        return dataclasses.replace(
            hypervisor, availability_zone=self._zone_of(hypervisor.service_host),
            running_vms=running)

    def _server_record(self, server_id):
        self._settle()
        record = self._servers.get(server_id)
        if record is None:
            raise exceptions.ServerNotFound(
                f'Instance {server_id} could not be found.')
        return record

    @staticmethod
    def _server(record):
        return base.Server(id=record.id, name=record.name, status=record.status,
                           project_id=record.project_id, user_id=record.user_id,
                           host=record.host, node=record.node,
                           metadata=dict(record.metadata), task_state=record.task_state,
                           fault=record.fault)

    @staticmethod
    def _conflict(record, action):
        state = f'task_state {record.task_state}' if record.task_state else \
            f'status {record.status}'
        return exceptions.ComputeError(
            f"Cannot '{action}' instance {record.id} while it is in {state}",
            status_code=409)

    def _aggregate_record(self, name):
        for aggregate in self._aggregates.values():
            if aggregate['name'] == name:
                return aggregate
        return None

    def _get_aggregate_record(self, name):
        aggregate = self._aggregate_record(name)
        if aggregate is None:
            raise exceptions.AggregateNotFound(f'No aggregate named {name!r}')
        return aggregate

    @staticmethod
    def _aggregate(record):
        return base.Aggregate(id=record['id'], name=record['name'],
                              availability_zone=record['az'],
                              hosts=tuple(record['hosts']),
                              metadata=dict(record['metadata']), uuid=record['uuid'])

    def _create_aggregate(self, name, availability_zone):
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise exceptions.ComputeError(f'Invalid aggregate name {name!r}',
                                          status_code=400)
        record = {'id': self._next_aggregate_id, 'name': name, 'az': availability_zone,
                  'hosts': [], 'metadata': {}, 'uuid': str(uuid.uuid4())}
        self._next_aggregate_id += 1
        self._aggregates[record['id']] = record
        return record

    def _check_zone_conflict(self, record, host, zone):
        """Nova refuses a host in two aggregates with different availability zones."""
        if zone is None:
            return
        for other in self._aggregates.values():
            if other is not record and host in other['hosts'] and \
                    other['az'] not in (None, zone):
                raise exceptions.ComputeError(
                    f"Cannot add host {host} in aggregate {record['id']}: host is "
                    f"already in availability zone {other['az']}", status_code=409)

    def _update_metadata(self, record, metadata):
        for key, value in metadata.items():
            if not isinstance(key, str) or not key or len(key) > 255 or (
                    value is not None and (not isinstance(value, str) or
                                           len(value) > 255)):
                raise exceptions.ComputeError(
                    f'Invalid aggregate metadata {key!r}: {value!r} (keys and values '
                    f'are strings of at most 255 characters)', status_code=400)
        if 'availability_zone' in metadata:
            zone = metadata['availability_zone']
            base.check_availability_zone(zone)
            for host in record['hosts']:
                self._check_zone_conflict(record, host, zone)
            record['az'] = zone
        for key, value in metadata.items():
            if key == 'availability_zone':
                continue
            if value is None:
                record['metadata'].pop(key, None)
            else:
                record['metadata'][key] = value

    def _pick_host(self, availability_zone):
        candidates = [h for h in self._hypervisors.values()
                      if availability_zone in (None, self._zone_of(h.service_host))]
        if not candidates:
            return None
        return min(candidates, key=lambda h: (self._hypervisor(h).running_vms,
                                              h.hypervisor_hostname)).service_host

    # --- hypervisors -------------------------------------------------------------------

    @_hooked
    def get_hypervisor(self, id_or_hostname):
        with self._lock:
            self._settle()
            for hypervisor in self._hypervisors.values():
                if hypervisor.id == id_or_hostname:
                    return self._hypervisor(hypervisor)
            if id_or_hostname in self._hypervisors:
                return self._hypervisor(self._hypervisors[id_or_hostname])
        raise exceptions.HypervisorNotFound(f'No hypervisor with id or hostname '
                                            f'{id_or_hostname!r}')

    @_hooked
    def list_hypervisors(self):
        with self._lock:
            self._settle()
            return [self._hypervisor(h) for h in self._hypervisors.values()]

    @_hooked
    def list_servers_on_host(self, host):
        with self._lock:
            self._settle()
            return [self._server(s) for s in self._servers.values() if s.host == host]

    # --- aggregates --------------------------------------------------------------------

    @_hooked
    def find_aggregate(self, name):
        with self._lock:
            record = self._aggregate_record(name)
            return None if record is None else self._aggregate(record)

    @_hooked
    def ensure_aggregate(self, name, availability_zone=None, metadata=None):
        base.check_availability_zone(availability_zone)
        with self._lock:
            record = self._aggregate_record(name)
            if record is None:
                record = self._create_aggregate(name, availability_zone)
            elif availability_zone is not None and record['az'] != availability_zone:
                raise exceptions.ComputeError(
                    f"Aggregate {name!r} exists in availability zone {record['az']!r}, "
                    f"not {availability_zone!r}", status_code=409)
            if metadata:
                self._update_metadata(record, metadata)
            return self._aggregate(record)

    @_hooked
    def add_host(self, aggregate_name, host):
        with self._lock:
            record = self._get_aggregate_record(aggregate_name)
            if host not in record['hosts']:
                self._node_of(host)
                self._check_zone_conflict(record, host, record['az'])
                record['hosts'].append(host)
            return self._aggregate(record)

    @_hooked
    def remove_host(self, aggregate_name, host):
        with self._lock:
            record = self._get_aggregate_record(aggregate_name)
            if host in record['hosts']:
                record['hosts'].remove(host)
            return self._aggregate(record)

    @_hooked
    def set_aggregate_metadata(self, name, metadata):
        with self._lock:
            record = self._get_aggregate_record(name)
            self._update_metadata(record, metadata)
            return self._aggregate(record)

    @_hooked
    def delete_aggregate(self, name):
        with self._lock:
            record = self._aggregate_record(name)
            if record is not None:
                del self._aggregates[record['id']]

    # --- servers -----------------------------------------------------------------------

    @_hooked
    def get_server(self, server_id):
        with self._lock:
            return self._server(self._server_record(server_id))

    @_hooked
    def shelve_server(self, server_id):
        with self._lock:
            record = self._server_record(server_id)
            if record.status in (base.SHELVED, base.SHELVED_OFFLOADED) and \
                    record.task_state is None or \
                    (record.task_state or '').startswith('shelving'):
                return
            if record.status not in _SHELVABLE or record.task_state is not None:
                raise self._conflict(record, 'shelve')

            def finish():
                record.status, record.task_state = base.SHELVED_OFFLOADED, None
                record.host = record.node = None
            self._later(record, 'shelving', finish)

    @_hooked
    def unshelve_server(self, server_id):
        with self._lock:
            record = self._server_record(server_id)
            if record.status == base.ACTIVE and record.task_state is None or \
                    record.task_state == 'unshelving':
                return
            if record.status not in (base.SHELVED, base.SHELVED_OFFLOADED) or \
                    record.task_state is not None:
                raise self._conflict(record, 'unshelve')

            def finish():
                host = self._pick_host(None)
                if host is None:
                    record.status, record.fault = base.ERROR, 'No valid host was found.'
                else:
                    record.status, record.host = base.ACTIVE, host
                    record.node = self._node_of(host)
                record.task_state = None
            self._later(record, 'unshelving', finish)

    @_hooked
    def delete_server(self, server_id):
        with self._lock:
            self._settle()
            record = self._servers.get(server_id)
            if record is None or record.task_state == 'deleting':
                return
            self._later(record, 'deleting',
                        lambda: self._servers.pop(server_id, None))

    @_hooked
    def create_image(self, server_id, name, metadata=None):
        with self._lock:
            record = self._server_record(server_id)
            if record.status not in _SNAPSHOTTABLE or record.task_state is not None:
                raise self._conflict(record, 'createImage')
            image_id = str(uuid.uuid4())
            self._images[image_id] = {'status': base.IMAGE_QUEUED, 'name': name,
                                      'owner': self._caller()[0],
                                      'pending': time.monotonic() + self.action_delay}

            def finish():
                record.task_state = None
            self._later(record, 'image_snapshot', finish)
            return image_id

    @_hooked
    def get_image_status(self, image_id):
        with self._lock:
            self._settle()
            image = self._images.get(image_id)
            if image is None:
                raise exceptions.ImageNotFound(f'No image with id {image_id}')
            return image['status']

    @_hooked
    def set_server_metadata(self, server_id, metadata):
        with self._lock:
            record = self._server_record(server_id)
            record.metadata.update(metadata)
            return dict(record.metadata)

    @_hooked
    def delete_server_metadata(self, server_id, keys):
        with self._lock:
            record = self._server_record(server_id)
            for key in keys:
                record.metadata.pop(key, None)

    @_hooked
    def create_server(self, name, flavor, image, *, availability_zone=None, host=None,
                      scheduler_hints=None, networks='none', metadata=None):
        base.check_availability_zone(availability_zone)
        with self._lock:
            self._settle()
            if host is not None and not any(h.service_host == host
                                            for h in self._hypervisors.values()):
                raise exceptions.ComputeError(f'Compute host {host} could not be found.',
                                              status_code=400)
            project_id, user_id = self._caller()
            record = _ServerRecord(str(uuid.uuid4()), name, base.BUILD, project_id,
                                   user_id, None, None, dict(metadata or {}))
            self._servers[record.id] = record

            def finish():
                chosen = host or self._pick_host(availability_zone)
                if chosen is None:
                    record.status, record.fault = base.ERROR, 'No valid host was found.'
                else:
                    record.status, record.host = base.ACTIVE, chosen
                    record.node = self._node_of(chosen)
                record.task_state = None
            self._later(record, 'scheduling', finish)
            return self._server(record)

    # --- acting for a user (trusts) ----------------------------------------------------

    supports_trusts = True

    @_hooked
    def create_trust(self, context):
        token = getattr(context, 'auth_token', None)
        roles = list(getattr(context, 'roles', None) or ())
        user_id = getattr(context, 'user_id', None)
        project_id = getattr(context, 'project_id', None)
        if not (token and user_id and project_id and roles):
            return None
        trust_id = str(uuid.uuid4())
        with self._lock:
            self._trusts[trust_id] = {'project_id': project_id, 'user_id': user_id,
                                      'roles': roles}
        return trust_id

    @_hooked
    def delete_trust(self, trust_id):
        with self._lock:
            self._trusts.pop(trust_id, None)

    def acting_for(self, trust_id):
        return _ActingFor(self, trust_id)


def _as_trustor(name):
    def call(self, *args, **kwargs):
        return self._driver._call_as(self.trust_id, name, args, kwargs)
    call.__name__ = call.__qualname__ = name
    call.__doc__ = getattr(base.ComputeDriver, name).__doc__
    return call


def _from_driver(name):
    return property(lambda self: getattr(self._driver, name))


class _ActingFor(base.ComputeDriver):
    """``MemoryDriver.acting_for(trust_id)``: the same simulated Nova (state, injected
    faults, call counts), every call acting as the trust's trustor."""

    def __init__(self, driver, trust_id):
        # No base __init__: the waiting settings stay the driver's (tests change them).
        self._driver = driver
        self.trust_id = trust_id

    wait_timeout = _from_driver('wait_timeout')
    poll_interval = _from_driver('poll_interval')
    freepool_name = _from_driver('freepool_name')
    _sleep = _from_driver('_sleep')
    _clock = _from_driver('_clock')

    get_hypervisor = _as_trustor('get_hypervisor')
    list_hypervisors = _as_trustor('list_hypervisors')
    list_servers_on_host = _as_trustor('list_servers_on_host')
    find_aggregate = _as_trustor('find_aggregate')
    ensure_aggregate = _as_trustor('ensure_aggregate')
    add_host = _as_trustor('add_host')
    remove_host = _as_trustor('remove_host')
    set_aggregate_metadata = _as_trustor('set_aggregate_metadata')
    delete_aggregate = _as_trustor('delete_aggregate')
    get_server = _as_trustor('get_server')
    shelve_server = _as_trustor('shelve_server')
    unshelve_server = _as_trustor('unshelve_server')
    delete_server = _as_trustor('delete_server')
    create_image = _as_trustor('create_image')
    get_image_status = _as_trustor('get_image_status')
    set_server_metadata = _as_trustor('set_server_metadata')
    delete_server_metadata = _as_trustor('delete_server_metadata')
    create_server = _as_trustor('create_server')

    # Trusts are made and revoked for the user, not as them.
    def create_trust(self, context):
        return self._driver.create_trust(context)

    def delete_trust(self, trust_id):
        self._driver.delete_trust(trust_id)

    def acting_for(self, trust_id):
        return self._driver.acting_for(trust_id)
