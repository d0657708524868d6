"""Host administration: the plugin's RPC methods behind ``/v1/os-hosts``.

Every method takes the caller's context first and returns JSON-ready values in
Blazar's shapes (``climate.db.hosts`` builds the host dicts,
``climate.db.host_allocations`` the allocation listings). Policy is the API's
job; these methods trust their caller.

Enrollment (``create_host``): the body's ``name`` (or ``id``) is looked up in Nova as
a hypervisor id, then as a hypervisor hostname; a host running servers is refused
(409), an unknown one is 404. Its inventory is copied, it joins the freepool (created
if missing), and every other body key becomes an extra capability (key at most 64
characters; values stored as text). ``reservable`` sets the flag rather than a
capability; keys naming host fields are refused (400).
"""

from oslo_log import log as logging
from oslo_utils import strutils

from climate import exceptions
from climate.common import limits
from climate.common import timeutils
from climate.compute import exceptions as compute_exc
from climate.db import host_allocations
from climate.db import host_health
from climate.db import host_reservations
from climate.db import hosts as host_db
from climate.plugins.physical_host import requirements

LOG = logging.getLogger(__name__)

RPC_METHODS = frozenset({
    'list_hosts', 'get_host', 'create_host', 'update_host', 'delete_host',
    'list_allocations', 'get_allocation', 'list_properties', 'update_property',
    # Host failures (climate.plugins.physical_host.healing).
    'reallocate', 'create_maintenance', 'list_maintenances', 'delete_maintenance'})
# Attempts of a host deletion racing with claims on the same host.
DELETE_ATTEMPTS = 3


def _flag(name, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in (
            'true', 'false', 'yes', 'no', '1', '0', 'on', 'off'):
        return strutils.bool_from_string(value, strict=True)
    raise exceptions.MalformedParameter(
        f'Malformed parameter {name}: {limits.short_repr(value)} is not a boolean')


def _truthy(value):
    """A query-string flag: booleans as given, text by its meaning, else presence."""
    if isinstance(value, str):
        return strutils.bool_from_string(value, default=bool(value.strip()))
    return bool(value)


def capability_values(values, allow_removal=False):
    """``{name: (text, number)}`` (or None: remove) for the capabilities in a body."""
    result = {}
    for name, value in values.items():
        if not isinstance(name, str) or not name.strip():
            raise exceptions.InvalidInput(f'Invalid extra capability name {name!r}')
        if len(name) > requirements.MAX_NAME_LENGTH:
            raise exceptions.ExtraCapabilityTooLong(
                f'Extra capability key too long: {name[:20]}… is longer than '
                f'{requirements.MAX_NAME_LENGTH} characters')
        if name in host_db.RESERVED_NAMES:
            raise exceptions.InvalidInput(
                f'{name} is a host field, not an extra capability'
                + (' (it is read from Nova)' if name in host_db.INVENTORY_COLUMNS
                   else ''))
        if value is None and allow_removal:
            result[name] = None
            continue
        if isinstance(value, bool):
            text = str(value)
        elif isinstance(value, (int, float, str)):
            text = str(value)
        else:
            raise exceptions.InvalidInput(
                f'Invalid value of extra capability {name}: it must be a string, a '
                f'number or a boolean')
        result[name] = (text, requirements.as_number(text))
    return result


def _with_maintenances(context, allocations, now, host_id=None):
    """Each host's entry gets ``maintenances``: its windows not ended (Climate's
    addition to Blazar's allocation shape)."""
    windows = {}
    for window in host_health.maintenances(context, host_id=host_id, now=now):
        windows.setdefault(window['host_id'], []).append(
            {k: window[k] for k in ('id', 'start_date', 'end_date', 'reason')})
    for entry in allocations:
        entry['maintenances'] = windows.get(entry['resource_id'], [])
    return allocations


class HostAdmin:
    """Mixed into the plugin, which provides ``pools``, ``compute`` and
    ``resource_type`` (the owner of the hosts' capability names)."""

    def list_hosts(self, context, limit=None, marker=None):
        return host_db.list_all(context, limit=limit, marker=marker)

    def get_host(self, context, host_id):
        return host_db.get(context, host_id)

    def create_host(self, context, values):
        body = dict(values or {})
        name = body.pop('name', None)
        given_id = body.pop('id', None)
        lookup = name if name not in (None, '') else given_id
        if lookup in (None, ''):
            raise exceptions.MissingParameter(param='name')
        reservable = _flag('reservable', body.pop('reservable', True))
        trust_id = body.pop('trust_id', None)
        capabilities = capability_values(body)
        try:
            hypervisor = self.compute.get_hypervisor(str(lookup))
        except compute_exc.HypervisorNotFound:
            raise exceptions.HostNotFound(host=lookup) from None
        if host_db.find_by_hostname(context, hypervisor.hypervisor_hostname) is not None:
            raise exceptions.Conflict(
                f'Host {hypervisor.hypervisor_hostname} is already enrolled')
        servers = self.pools.servers_on(hypervisor.service_host)
        if servers:
            raise exceptions.HostHavingServers(
                host=hypervisor.hypervisor_hostname,
                servers=', '.join(s.id for s in servers))
        property_ids = host_db.ensure_properties(context, self.resource_type,
                                                 capabilities)
        self.pools.enroll(hypervisor.service_host)
        inventory = {
            'hypervisor_id': hypervisor.id,
            'hypervisor_hostname': hypervisor.hypervisor_hostname,
            'service_name': hypervisor.service_host, 'vcpus': hypervisor.vcpus,
            'memory_mb': hypervisor.memory_mb, 'local_gb': hypervisor.local_gb,
            'cpu_info': hypervisor.cpu_info,
            'hypervisor_type': hypervisor.hypervisor_type,
            'hypervisor_version': hypervisor.hypervisor_version,
            'availability_zone': hypervisor.availability_zone}
        host_id = host_db.create(context, inventory, capabilities, property_ids,
                                 reservable=reservable, trust_id=trust_id)
        LOG.info('Enrolled host %s (%s) as %s', hypervisor.hypervisor_hostname,
                 hypervisor.id, host_id)
        return host_db.get(context, host_id)

    def update_host(self, context, host_id, values):
        body = dict(values or {})
        if not body:
            raise exceptions.InvalidInput('No data to update')
        current = host_db.get(context, host_id)
        host_id = int(current['id'])
        reservable = None
        if 'reservable' in body:
            reservable = _flag('reservable', body.pop('reservable'))
        capabilities = capability_values(body, allow_removal=True)
        changing = {name for name, value in capabilities.items()
                    if (value[0] if value else None) != current.get(name)}
        locked = changing & self._required_capabilities(context, host_id)
        if locked:
            raise exceptions.CantUpdateParameter(
                f'Extra capabilit{"ies" if len(locked) > 1 else "y"} '
                f'{", ".join(sorted(locked))} of host {host_id} cannot change: current '
                f'or future reservations of the host require them')
        property_ids = host_db.ensure_properties(
            context, self.resource_type,
            [n for n, v in capabilities.items() if v is not None])
        removed = [n for n, v in capabilities.items() if v is None]
        property_ids.update(host_db.property_ids(context, self.resource_type, removed))
        host_db.update(context, host_id, capabilities, property_ids,
                       reservable=reservable)
        return host_db.get(context, host_id)

    def _required_capabilities(self, context, host_id):
        used = set()
        for texts in host_reservations.requirements_of_holders(context, host_id,
                                                               timeutils.utcnow()):
            for field, text in zip(('hypervisor_properties', 'resource_properties'),
                                   texts):
                try:
                    used |= requirements.capability_names(
                        requirements.parse(field, text))
                except exceptions.MalformedRequirements:
                    continue
        return used

    def delete_host(self, context, host_id):
        host = host_db.get(context, host_id)
        host_id = int(host['id'])
        for attempt in range(1, DELETE_ATTEMPTS + 1):
            try:
                if attempt == 1:
                    # Refuse early (no Nova call) when the host is allocated.
                    self._check_deletable(context, host_id)
                    servers = self.pools.servers_on(host['service_name'])
                    if servers:
                        raise exceptions.HostHavingServers(
                            host=host['hypervisor_hostname'],
                            servers=', '.join(s.id for s in servers))
                host_db.delete(context, host_id, timeutils.utcnow())
                break
            except exceptions.ClaimConflict:
                LOG.debug('Host %s changed while being deleted (attempt %d)', host_id,
                          attempt)
        else:
            raise exceptions.CantDeleteHost(
                host=host_id, msg='It keeps changing; try again.')
        try:
            self.pools.withdraw(host['service_name'])
        except compute_exc.ComputeError:
            # The safe side: a host left in the freepool still takes no ordinary
            # servers. Enrolling it again puts things right.
            LOG.warning('Host %s was deleted but could not be taken out of the '
                        'freepool', host['hypervisor_hostname'], exc_info=True)

    def _check_deletable(self, context, host_id):
        if host_db.is_allocated(context, host_id, timeutils.utcnow()):
            raise exceptions.CantDeleteHost(
                host=host_id, msg='It has current or future allocations.')

    def list_allocations(self, context, lease_id=None, reservation_id=None, limit=None,
                         marker=None):
        now = timeutils.utcnow()
        return _with_maintenances(
            context, host_allocations.by_host(context, now, lease_id=lease_id,
                                              reservation_id=reservation_id,
                                              limit=limit, marker=marker), now)

    def get_allocation(self, context, host_id, lease_id=None, reservation_id=None):
        host_id = host_db.parse_id(host_id)
        now = timeutils.utcnow()
        found = host_allocations.by_host(context, now, lease_id=lease_id,
                                         reservation_id=reservation_id, host_id=host_id)
        if not found:
            raise exceptions.HostNotFound(host=host_id)
        return _with_maintenances(context, found, now, host_id)[0]

    def list_properties(self, context, detail=False, all=False):  # noqa: A002
        include_private = _truthy(all) and bool(getattr(context, 'is_admin', False))
        return host_db.list_properties(context, self.resource_type,
                                       include_private=include_private,
                                       detail=_truthy(detail))

    def update_property(self, context, property_name, values):
        body = dict(values or {})
        unknown = sorted(set(body) - {'private'})
        if unknown or 'private' not in body:
            raise exceptions.InvalidInput(
                'Only "private" (true or false) can be updated on a resource property')
        return host_db.update_property(context, self.resource_type, property_name,
                                       _flag('private', body['private']))
