"""The in-memory simulation of Nova: hypervisors, aggregates, servers, images, flavors
and server groups.

A boot with a capacity reservation's flavor is scheduled as the real Nova with
``ClimateFilter`` and Placement would: only by a project with access to the private
flavor, only on the reservation aggregate's hosts, at most ``climate:slots:<host>``
servers of that flavor per host, on a node with a free unit of each custom resource
class the flavor asks for (``resources:CUSTOM_…=N``, the units a node offers being set
with ``set_reservation_inventory``), obeying the server group's policy; otherwise ERROR
"No valid host". ``inventory(node)`` shows a node's custom inventory.

It behaves like the Nova driver for every method: the same statuses and task states
(shelve ends in SHELVED_OFFLOADED, actions take ``[compute_memory] action_delay``
seconds), the same not-found errors and idempotency, aggregates holding compute service
hosts with Nova's availability-zone rules, and the ``[nova] aggregate_freepool_name``
aggregate already created (as the operator would). State lives in this object only.
Trusts are simulated by ``climate.compute.memory.trusts``.

Hooks to seed and inspect the simulated world (not part of ``ComputeDriver``):

- ``add_hypervisor(hostname, …)``, ``add_server(name, host, …)``, ``add_flavor(id, …)``.
- ``acting_as(project_id, user_id)``: calls inside act as that user.
- ``image_owner(image_id)``: the project owning an image (``project_id`` for images
  made by this driver, the trustor's for images made through ``acting_for``).
- ``trusts()``: a copy of the live trusts, id -> ``{'project_id', 'user_id', 'roles'}``;
  ``trust_ids()``: their ids.
- ``set_service(host, state=…, status=…, forced_down=…, disabled_reason=…)``: change
  a nova-compute service as an operator (or a dead host) would, so that host
  monitoring sees a failure or a recovery.
- ``issue_user_token(user_id, project_id, roles)``: a token for a user's request
  context (any token does here; ``FakeNova`` has the same hook, with real checks).

Tests make its calls fail or slow down with ``climate.compute.fixture.ComputeFaults``.
"""

import contextlib
import dataclasses
import threading
import time
import uuid

from oslo_serialization import jsonutils

from climate.compute import base
from climate.compute import exceptions
from climate.compute.memory import trusts

DEFAULT_AZ = 'nova'
_NAMESPACE = uuid.UUID('5d1bd0a4-8c1a-4f43-9a4f-7f43d0c9e0a1')
_INT_FIELDS = ('vcpus', 'memory_mb', 'local_gb', 'hypervisor_version')
_STR_FIELDS = ('hypervisor_type', 'service_host', 'id')
_SHELVABLE = ('ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED')
#: The flavor extra spec naming a capacity reservation, and the aggregate metadata
#: prefix of its slots per host (see climate.plugins.instance_capacity.nova_side).
RESERVATION_SPEC = 'aggregate_instance_extra_specs:reservation'
SLOTS_PREFIX = 'climate:slots:'
_SNAPSHOTTABLE = _SHELVABLE + (base.SHELVED, base.SHELVED_OFFLOADED)


def _custom_resources(extra_specs):
    """``{custom resource class: units}`` a flavor's ``resources:CUSTOM_…`` specs
    ask for."""
    wanted = {}
    for key, value in extra_specs.items():
        prefix, _, name = key.partition(':')
        if prefix == 'resources' and name.startswith('CUSTOM_'):
            wanted[name] = int(value)
    return wanted


_FLAVOR_SIZES = ('vcpus', 'ram', 'disk')


def parse_flavors(items):
    """``[compute_memory] flavors`` items as ``(id, name, vcpus, ram, disk)``."""
    parsed = []
    for item in items:
        parts = item.strip().split(':')
        try:
            flavor_id, name, fields = parts[0], parts[1], parts[2:]
            sizes = dict(field.partition('=')[::2] for field in fields)
            if not flavor_id or not name or sorted(sizes) != sorted(_FLAVOR_SIZES):
                raise ValueError
            parsed.append((flavor_id, name, *(int(sizes[k]) for k in _FLAVOR_SIZES)))
        except (IndexError, ValueError):
            raise ValueError(f'[compute_memory] flavors: {item!r} is not '
                             f'"id:name:vcpus=N:ram=MB:disk=GB"') from None
    return parsed


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
    flavor: str | None = None
    group: str | None = None
    resources: dict | None = None     # custom resource class -> units it holds


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
        self._services = {}           # service host -> ComputeService
        self._flavors = {}            # id -> (Flavor, set of projects with access)
        self._groups = {}             # id -> {'name', 'policy', 'project_id'}
        # Placement: node -> {custom resource class: {'total', 'reserved'}}.
        self._inventories = {}
        self._resource_classes = set()
        self.keystone = trusts.SimulatedTrusts()
        self._acting_as = threading.local()
        for name, spec in parse_hypervisors(conf.compute_memory.hypervisors):
            self.add_hypervisor(name, **spec)
        for flavor_id, name, vcpus, ram, disk in parse_flavors(
                conf.compute_memory.flavors):
            self.add_flavor(flavor_id, name, vcpus, ram, disk)
        self._create_aggregate(self.freepool_name, None)

    # --- seeding and inspecting the world ---------------------------------------------

    def image_owner(self, image_id):
        """The project owning the image (KeyError if there is no such image)."""
        with self._lock:
            return self._images[image_id]['owner']

    def trusts(self):
        return self.keystone.trusts()

    def trust_ids(self):
        return self.keystone.trust_ids()

    def issue_user_token(self, user_id, project_id, roles=('member',)):
        return self.keystone.issue_user_token(user_id, project_id, roles)

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
            self._services[hypervisor.service_host] = base.ComputeService(
                host=hypervisor.service_host)
        return hypervisor.id

    def set_service(self, host, **fields):
        """Change the nova-compute service of ``host`` (its ``service_host``)."""
        with self._lock:
            if host not in self._services:
                raise exceptions.ComputeHostNotFound(
                    f'Compute host {host} could not be found.')
            self._services[host] = dataclasses.replace(self._services[host], **fields)

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

    @contextlib.contextmanager
    def acting_as(self, project_id, user_id):
        """Calls of this thread act as that user inside the block (the simulated Nova
        API, ``climate.compute.memory.nova_api``, serves its callers so)."""
        previous = getattr(self._acting_as, 'caller', None)
        self._acting_as.caller = (project_id, user_id)
        try:
            yield
        finally:
            self._acting_as.caller = previous

    # --- internals ---------------------------------------------------------------------

    def _caller(self):
        """(project_id, user_id) the current call acts as: this driver's credentials,
        the trustor's for a call through ``acting_for``, or ``acting_as``'s."""
        return (self.keystone.trustor() or getattr(self._acting_as, 'caller', None) or
                (self.project_id, self.user_id))

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
        service = self._services[hypervisor.service_host]
        return dataclasses.replace(
            hypervisor, availability_zone=self._zone_of(hypervisor.service_host),
            running_vms=running, state=service.state, status=service.status)

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

    def list_hypervisors(self):
        with self._lock:
            self._settle()
            return [self._hypervisor(h) for h in self._hypervisors.values()]

    def list_compute_services(self):
        with self._lock:
            return list(self._services.values())

    def list_servers_on_host(self, host):
        with self._lock:
            self._settle()
            return [self._server(s) for s in self._servers.values() if s.host == host]

    # --- aggregates --------------------------------------------------------------------

    def find_aggregate(self, name):
        with self._lock:
            record = self._aggregate_record(name)
            return None if record is None else self._aggregate(record)

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

    def add_host(self, aggregate_name, host):
        with self._lock:
            record = self._get_aggregate_record(aggregate_name)
            if host not in record['hosts']:
                self._node_of(host)
                self._check_zone_conflict(record, host, record['az'])
                record['hosts'].append(host)
            return self._aggregate(record)

    def remove_host(self, aggregate_name, host):
        with self._lock:
            record = self._get_aggregate_record(aggregate_name)
            if host in record['hosts']:
                record['hosts'].remove(host)
            return self._aggregate(record)

    def set_aggregate_metadata(self, name, metadata):
        with self._lock:
            record = self._get_aggregate_record(name)
            self._update_metadata(record, metadata)
            return self._aggregate(record)

    def delete_aggregate(self, name):
        with self._lock:
            record = self._aggregate_record(name)
            if record is not None:
                del self._aggregates[record['id']]

    # --- servers -----------------------------------------------------------------------

    def get_server(self, server_id):
        with self._lock:
            return self._server(self._server_record(server_id))

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

    def delete_server(self, server_id):
        with self._lock:
            self._settle()
            record = self._servers.get(server_id)
            if record is None or record.task_state == 'deleting':
                return
            self._later(record, 'deleting',
                        lambda: self._servers.pop(server_id, None))

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

    def get_image_status(self, image_id):
        with self._lock:
            self._settle()
            image = self._images.get(image_id)
            if image is None:
                raise exceptions.ImageNotFound(f'No image with id {image_id}')
            return image['status']

    def set_server_metadata(self, server_id, metadata):
        with self._lock:
            record = self._server_record(server_id)
            record.metadata.update(metadata)
            return dict(record.metadata)

    def delete_server_metadata(self, server_id, keys):
        with self._lock:
            record = self._server_record(server_id)
            for key in keys:
                record.metadata.pop(key, None)

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
            known = self._flavors.get(flavor)
            if known is not None and not known[0].is_public and \
                    project_id not in known[1]:
                raise exceptions.ComputeError(f'Flavor {flavor} could not be found.',
                                              status_code=400)
            group = (scheduler_hints or {}).get('group')
            if group is not None and group not in self._groups:
                raise exceptions.ComputeError(f'Server group {group} could not be '
                                              f'found.', status_code=400)
            record = _ServerRecord(str(uuid.uuid4()), name, base.BUILD, project_id,
                                   user_id, None, None, dict(metadata or {}),
                                   flavor=flavor, group=group)
            self._servers[record.id] = record
            reservation = None if known is None else \
                known[0].extra_specs.get(RESERVATION_SPEC)
            wanted = {} if known is None else _custom_resources(known[0].extra_specs)

            def finish():
                if reservation is not None:
                    chosen = self._pick_reserved_host(reservation, record, wanted)
                else:
                    chosen = host or self._pick_host(availability_zone)
                if chosen is not None and not self._has_units(chosen, wanted):
                    chosen = None
                if chosen is None:
                    record.status, record.fault = base.ERROR, 'No valid host was found.'
                else:
                    record.status, record.host = base.ACTIVE, chosen
                    record.resources = wanted or None
                    record.node = self._node_of(chosen)
                record.task_state = None
            self._later(record, 'scheduling', finish)
            return self._server(record)

    def _units_used(self, node, resource_class):
        return sum((s.resources or {}).get(resource_class, 0)
                   for s in self._servers.values()
                   if s.node == node and s.status != base.DELETED)

    def _units_free(self, node, resource_class):
        inventory = self._inventories.get(node, {}).get(resource_class)
        if inventory is None:
            return 0
        return inventory['total'] - inventory['reserved'] - \
            self._units_used(node, resource_class)

    def _has_units(self, host, wanted):
        if not wanted:
            return True
        node = self._node_of(host)
        return all(self._units_free(node, rc) >= n for rc, n in wanted.items())

    def _pick_reserved_host(self, reservation, record, wanted=None):
        """What Nova's scheduler does for a reservation's flavor: a host of the
        reservation's aggregate with a slot left (``climate:slots:<host>``) and the
        custom resource units the flavor asks for, obeying the server group's
        policy."""
        aggregate = self._aggregate_record(reservation)
        if aggregate is None:
            return None
        others = [s for s in self._servers.values() if s is not record and
                  s.flavor == record.flavor and s.host is not None and
                  s.status != base.DELETED]
        group_hosts = {s.host for s in self._servers.values()
                       if s is not record and record.group is not None and
                       s.group == record.group and s.host is not None}
        policy = self._groups[record.group]['policy'] if record.group else None
        for host in sorted(aggregate['hosts']):
            slots = int(aggregate['metadata'].get(SLOTS_PREFIX + host, 0))
            if sum(1 for s in others if s.host == host) >= slots:
                continue
            if not self._has_units(host, wanted or {}):
                continue
            if policy == 'affinity' and group_hosts and host not in group_hosts:
                continue
            if policy == 'anti-affinity' and host in group_hosts:
                continue
            return host
        return None

    # --- flavors and server groups -----------------------------------------------------

    def get_flavor(self, flavor_id):
        with self._lock:
            known = self._flavors.get(flavor_id)
            project_id, _ = self._caller()
            if known is None or not (known[0].is_public or project_id in known[1]):
                raise exceptions.FlavorNotFound(f'No flavor {flavor_id}')
            return known[0]

    def add_flavor(self, flavor_id, name, vcpus, ram, disk, extra_specs=None,
                   is_public=True):
        """Seed a flavor (the operator's), for flavor:instance reservations."""
        with self._lock:
            self._flavors[flavor_id] = (base.Flavor(
                flavor_id, name, vcpus, ram, disk, 0, is_public,
                dict(extra_specs or {})), set())

    def ensure_flavor(self, flavor_id, name, vcpus, ram, disk, extra_specs,
                      project_id, ephemeral=0):
        with self._lock:
            flavor = base.Flavor(flavor_id, name, vcpus, ram, disk, ephemeral, False,
                                 dict(extra_specs))
            known = self._flavors.get(flavor_id)
            if known is not None and (known[0].vcpus, known[0].ram, known[0].disk) != \
                    (vcpus, ram, disk):
                raise exceptions.ComputeError(f'Flavor with ID {flavor_id} already '
                                              f'exists.', status_code=409)
            self._flavors[flavor_id] = (flavor, {project_id})
            return flavor

    def delete_flavor(self, flavor_id):
        with self._lock:
            self._flavors.pop(flavor_id, None)

    def list_servers_with_flavor(self, flavor_id):
        with self._lock:
            self._settle()
            return [self._server(s) for s in self._servers.values()
                    if s.flavor == flavor_id]

    def ensure_server_group(self, name, policy):
        with self._lock:
            project_id, _ = self._caller()
            for group_id, group in self._groups.items():
                if group['name'] == name and group['project_id'] == project_id:
                    return group_id
            group_id = str(uuid.uuid4())
            self._groups[group_id] = {'name': name, 'policy': policy,
                                      'project_id': project_id}
            return group_id

    def delete_server_group(self, group_id):
        with self._lock:
            self._groups.pop(group_id, None)

    # --- Placement -----------------------------------------------------------------------

    def inventory(self, node):
        """``{custom resource class: {'total', 'reserved'}}`` the node offers."""
        with self._lock:
            return {rc: dict(inv) for rc, inv in self._inventories.get(node, {}).items()}

    def resource_classes(self):
        with self._lock:
            return set(self._resource_classes)

    def set_reservation_inventory(self, node, resource_class, total):
        with self._lock:
            self._settle()
            if total <= 0:
                self._drop_inventory(node, resource_class)
                return
            if node not in self._hypervisors:
                raise exceptions.HypervisorNotFound(
                    f'Placement has no resource provider for compute node {node!r}')
            self._resource_classes.add(resource_class)
            self._inventories.setdefault(node, {})[resource_class] = {
                'total': total, 'reserved': 0}

    def _drop_inventory(self, node, resource_class):
        inventories = self._inventories.get(node, {})
        inventory = inventories.get(resource_class)
        if inventory is None:
            return True
        if self._units_used(node, resource_class):
            inventory['reserved'] = inventory['total']     # in use: offer nothing new
            return False
        del inventories[resource_class]
        if not inventories:
            self._inventories.pop(node, None)
        return True

    def remove_reservation_inventory(self, node, resource_class):
        with self._lock:
            self._settle()
            return self._drop_inventory(node, resource_class)

    def delete_resource_class(self, resource_class):
        with self._lock:
            self._settle()
            if all(self._drop_inventory(node, resource_class)
                   for node in list(self._inventories)):
                self._resource_classes.discard(resource_class)

    # --- acting for a user (trusts) ----------------------------------------------------

    supports_trusts = True

    def create_trust(self, context):
        return self.keystone.create_trust(context)

    def delete_trust(self, trust_id):
        self.keystone.delete_trust(trust_id)

    def acting_for(self, trust_id):
        return trusts.ActingFor(self, trust_id)
