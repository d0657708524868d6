"""An in-memory ``physical:host`` plugin for the API's tests, until the real one merges.

It implements the contract the API calls through ``call_plugin`` (``list_hosts``,
``get_host``, ``create_host``, ``update_host``, ``delete_host``, ``list_allocations``,
``get_allocation``, ``list_properties``, ``update_property``), returning Blazar's shapes
and raising Climate's exceptions, and reserves hosts for leases simply (any free host,
no properties). Hosts that may be enrolled are ``[compute_memory] hypervisors``; a
host's id is the ``id=`` of its entry (the tests give ``compute-1:id=1`` …, as Nova's
numeric hypervisor ids, so the in-memory compute driver agrees), else its position.

Loaded by constructing the manager with it, or by the entry point ``test.host.plugin``
that ``tests.functional.api.plugin_dist`` registers for a subprocess.
"""

import threading

from climate import exceptions
from climate.common import timeutils
from climate.compute import memory
from climate.plugins import base

NOVA_KEYS = ('name', 'id')


def _stamp():
    return timeutils.utcnow().strftime('%Y-%m-%d %H:%M:%S')


def _int(values, key):
    value = values.get(key)
    if value is None or value == '':
        raise exceptions.MissingParameter(param=key)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise exceptions.MalformedParameter(param=key) from None
    if number < 1:
        raise exceptions.MalformedParameter(param=key)
    return number


class HostPlugin(base.ResourcePlugin):
    resource_type = 'physical:host'
    rpc_methods = frozenset(('list_hosts', 'get_host', 'create_host', 'update_host',
                             'delete_host', 'list_allocations', 'get_allocation',
                             'list_properties', 'update_property'))

    def __init__(self, conf):
        super().__init__(conf)
        self._known = {name: str(spec.get('id', index)) for index, (name, spec) in
                       enumerate(memory.parse_hypervisors(
                           conf.compute_memory.hypervisors), 1)}
        self._hosts = {}           # id -> host dict
        self._private = {}         # property name -> bool
        self._allocations = {}     # reservation id -> allocation record
        self._lock = threading.RLock()

    def _page(self, limit, marker):
        """Host ids by number, the first ``limit`` after ``marker`` (as the real
        plugin pages them; an unknown marker is a 400)."""
        ids = sorted(self._hosts, key=int)
        if marker is not None:
            if str(marker) not in self._hosts:
                raise exceptions.InvalidInput(reason=f'marker {marker} not found')
            ids = ids[ids.index(str(marker)) + 1:]
        return ids if limit is None else ids[:limit]

    # Hosts -------------------------------------------------------------------------
    def list_hosts(self, context, limit=None, marker=None):
        with self._lock:
            return [dict(self._hosts[host_id]) for host_id in self._page(limit, marker)]

    def get_host(self, context, host_id):
        with self._lock:
            host = self._hosts.get(str(host_id))
            if host is None:
                raise exceptions.HostNotFound(host=host_id)
            return dict(host)

    def create_host(self, context, values):
        name = str(values.get('name') or values.get('id') or '')
        host_id = self._known.get(name) or (name if name in self._known.values()
                                            else None)
        if host_id is None:
            raise exceptions.HostNotFound(host=name)
        hostname = next(n for n, i in self._known.items() if i == host_id)
        with self._lock:
            if host_id in self._hosts:
                raise exceptions.Conflict(reason=f'host {hostname} is already enrolled')
            host = {'id': host_id, 'hypervisor_hostname': hostname,
                    'service_name': hostname, 'hypervisor_type': 'QEMU',
                    'hypervisor_version': 8002000, 'vcpus': 8, 'memory_mb': 16384,
                    'local_gb': 200, 'cpu_info': '{}', 'availability_zone': 'nova',
                    'reservable': True, 'status': None, 'trust_id': None,
                    'created_at': _stamp(), 'updated_at': None}
            host.update({k: str(v) for k, v in values.items() if k not in NOVA_KEYS})
            self._hosts[host_id] = host
            return dict(host)

    def update_host(self, context, host_id, values):
        with self._lock:
            host = self._hosts.get(str(host_id))
            if host is None:
                raise exceptions.HostNotFound(host=host_id)
            host.update({k: str(v) for k, v in values.items()})
            host['updated_at'] = _stamp()
            return dict(host)

    def delete_host(self, context, host_id):
        with self._lock:
            if str(host_id) not in self._hosts:
                raise exceptions.HostNotFound(host=host_id)
            now = timeutils.utcnow()
            if any(str(host_id) in a['hosts'] and a['end'] >= now
                   for a in self._allocations.values()):
                raise exceptions.CantDeleteHost(
                    host=host_id, msg='It is allocated to a current or future lease.')
            del self._hosts[str(host_id)]

    # Allocations -------------------------------------------------------------------
    def _reservations_of(self, host_id, lease_id=None, reservation_id=None):
        now = timeutils.utcnow()
        found = []
        for rid, a in sorted(self._allocations.items()):
            if host_id not in a['hosts']:
                continue
            if lease_id and a['lease_id'] != lease_id:
                continue
            if reservation_id and rid != reservation_id:
                continue
            if not (lease_id or reservation_id) and a['end'] < now:
                continue
            found.append({'id': rid, 'lease_id': a['lease_id'],
                          'start_date': timeutils.format_date(a['start']),
                          'end_date': timeutils.format_date(a['end'])})
        return found

    def list_allocations(self, context, lease_id=None, reservation_id=None, limit=None,
                         marker=None):
        with self._lock:
            return [{'resource_id': host_id,
                     'reservations': self._reservations_of(host_id, lease_id,
                                                           reservation_id)}
                    for host_id in self._page(limit, marker)]

    def get_allocation(self, context, host_id, lease_id=None, reservation_id=None):
        with self._lock:
            if str(host_id) not in self._hosts:
                raise exceptions.HostNotFound(host=host_id)
            return {'resource_id': str(host_id),
                    'reservations': self._reservations_of(str(host_id), lease_id,
                                                          reservation_id)}

    # Properties --------------------------------------------------------------------
    _HOST_KEYS = frozenset(('id', 'hypervisor_hostname', 'service_name',
                            'hypervisor_type', 'hypervisor_version', 'vcpus',
                            'memory_mb', 'local_gb', 'cpu_info', 'availability_zone',
                            'reservable', 'status', 'trust_id', 'created_at',
                            'updated_at'))

    def _properties(self):
        found = {}
        for host in self._hosts.values():
            for key, value in host.items():
                if key not in self._HOST_KEYS:
                    found.setdefault(key, set()).add(value)
        return found

    def list_properties(self, context, detail=False, all=False):
        with self._lock:
            result = []
            for name, values in sorted(self._properties().items()):
                private = self._private.get(name, False)
                if private and not all:
                    continue
                entry = {'property': name}
                if detail:
                    entry.update(private=private, values=sorted(values))
                result.append(entry)
            return result

    def update_property(self, context, property_name, values):
        with self._lock:
            if property_name not in self._properties():
                raise exceptions.NotFound(object=f"{{'property': '{property_name}'}}")
            self._private[property_name] = bool(values.get('private'))
            return {'id': property_name, 'resource_type': self.resource_type,
                    'property_name': property_name,
                    'private': self._private[property_name],
                    'created_at': _stamp(), 'updated_at': _stamp()}

    # Reservations ------------------------------------------------------------------
    def validate(self, context, values):
        low, high = _int(values, 'min'), _int(values, 'max')
        if low > high:
            raise exceptions.InvalidRange(param='min/max')
        return {'min': low, 'max': high,
                'hypervisor_properties': values.get('hypervisor_properties', ''),
                'resource_properties': values.get('resource_properties', ''),
                'before_end': values.get('before_end') or 'default'}

    def _free(self, start, end, ignore=None):
        busy = set()
        for rid, a in self._allocations.items():
            if rid != ignore and a['start'] < end and start < a['end']:
                busy.update(a['hosts'])
        return [h for h in sorted(self._hosts, key=int) if h not in busy]

    def _claim(self, reservation_id, lease_id, start, end, values):
        start, end = timeutils.ensure_utc(start), timeutils.ensure_utc(end)
        free = self._free(start, end, ignore=reservation_id)
        if len(free) < values['min']:
            raise exceptions.NotEnoughHostsAvailable()
        self._allocations[reservation_id] = {
            'hosts': free[:values['max']], 'lease_id': lease_id, 'start': start,
            'end': end, 'values': values}

    def reserve(self, context, lease, reservation, values):
        with self._lock:
            self._claim(reservation.id, lease.id, lease.start_date, lease.end_date,
                        values)

    def update(self, context, lease, reservation, values, start_date, end_date):
        with self._lock:
            current = self._allocations.get(reservation.id)
            merged = dict(current['values'] if current else {}, **values)
            self._claim(reservation.id, lease.id, start_date, end_date,
                        self.validate(context, merged))

    def on_start(self, context, lease, reservation):
        pass

    def on_end(self, context, lease, reservation):
        self.release(context, lease, reservation)

    def release(self, context, lease, reservation):
        with self._lock:
            self._allocations.pop(reservation['id'], None)

    def details(self, context, reservations):
        with self._lock:
            return {r.id: dict(self._allocations[r.id]['values'])
                    for r in reservations if r.id in self._allocations}

