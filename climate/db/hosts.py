"""Enrolled compute hosts, their extra capabilities and the capability names.

Hosts are returned as plain dicts in Blazar's shape (``id`` as a string, every extra
capability flattened into the dict as a text value). Changes to a host that could
change which reservations it suits (``reservable``, capabilities, deletion) bump its
``generation``, so a concurrent claim that matched the old row retries
(see :mod:`climate.db.claims`).

Capability names (``resource_properties``) belong to a resource type, which the
callers pass: the plugin whose requests name them in their requirements.
"""

import re

from oslo_db import exception as db_exc
import sqlalchemy as sa

from climate import exceptions
from climate.common import limits
from climate.common import timeutils
from climate.db import api as db_api
from climate.db import models

H = models.ComputeHost.__table__
C = models.ComputeHostExtraCapability.__table__
P = models.ResourceProperty.__table__
A = models.ComputeHostAllocation.__table__
S = models.CapacityAllocation.__table__     # capacity reservations' slices

#: A host id in a URL: ASCII digits, no sign, space or leading zero.
_HOST_ID = re.compile('[1-9][0-9]{0,9}', re.ASCII)
#: Host columns shown to users, in Blazar's names.
VIEW_COLUMNS = ('hypervisor_id', 'hypervisor_hostname', 'service_name', 'vcpus',
                'memory_mb', 'local_gb', 'cpu_info', 'hypervisor_type',
                'hypervisor_version', 'availability_zone', 'status', 'trust_id',
                'reservable', 'status_reason')
#: Inventory copied from Nova at enrollment.
INVENTORY_COLUMNS = ('hypervisor_id', 'hypervisor_hostname', 'service_name', 'vcpus',
                     'memory_mb', 'local_gb', 'cpu_info', 'hypervisor_type',
                     'hypervisor_version', 'availability_zone')
#: Names a capability may not take: they would shadow a host field in the output.
RESERVED_NAMES = frozenset(VIEW_COLUMNS) | {'id', 'name', 'created_at', 'updated_at',
                                            'generation'}


def _stamp(value):
    return value.strftime('%Y-%m-%d %H:%M:%S') if value else None


def _view(row, capabilities):
    view = {'id': str(row.id)}
    for column in VIEW_COLUMNS:
        view[column] = getattr(row, column)
    # A failed host is not reservable, as in Blazar (whose monitor clears the flag);
    # the stored flag is the admin's and comes back with the host.
    view['status'] = row.status or 'up'
    view['reservable'] = bool(row.reservable) and view['status'] != 'down'
    view['created_at'] = _stamp(row.created_at)
    view['updated_at'] = _stamp(row.updated_at)
    view.update(capabilities)
    return view


def parse_id(host_id):
    """Climate's integer host id from its text form (ASCII digits only, so that
    ``+1``, `` 1 `` or ``١`` are no alias of host 1); HostNotFound if it is not one."""
    if isinstance(host_id, int) and not isinstance(host_id, bool):
        value = host_id
    elif isinstance(host_id, str) and _HOST_ID.fullmatch(host_id):
        value = int(host_id)
    else:
        raise exceptions.HostNotFound(host=limits.quote(str(host_id), 64))
    if not 0 < value < 2 ** 31:
        raise exceptions.HostNotFound(host=host_id)
    return value


_CAPABILITIES = (sa.select(C.c.computehost_id, P.c.property_name, C.c.capability_value)
                 .select_from(C.join(P, P.c.id == C.c.property_id)))


def _capabilities(context, host_ids=None):
    query = _CAPABILITIES
    if host_ids is not None:
        query = query.where(C.c.computehost_id.in_(host_ids))
    found = {}
    for host_id, name, value in context.session.execute(query):
        found.setdefault(host_id, {})[name] = value
    return found


@db_api.reader
def get(context, host_id):
    host_id = parse_id(host_id)
    row = context.session.execute(sa.select(H).where(H.c.id == host_id)).one_or_none()
    if row is None:
        raise exceptions.HostNotFound(host=host_id)
    return _view(row, _capabilities(context, [host_id]).get(host_id, {}))


def page_marker(context, marker):
    """The integer host id a listing continues after; InvalidInput (400) when
    ``marker`` names no enrolled host."""
    try:
        host_id = parse_id(marker)
        found = context.session.execute(
            sa.select(H.c.id).where(H.c.id == host_id)).scalar_one_or_none()
    except exceptions.HostNotFound:
        found = None
    if found is None:
        raise exceptions.InvalidInput(reason=f'marker {str(marker)[:40]} not found')
    return found


@db_api.reader
def list_all(context, limit=None, marker=None):
    """Hosts by id, the first ``limit`` after host ``marker`` (all without them), in
    two queries whatever their number."""
    query = sa.select(H).order_by(H.c.id)
    if marker is not None:
        query = query.where(H.c.id > page_marker(context, marker))
    if limit is not None:
        query = query.limit(limit)
    rows = context.session.execute(query).all()
    if limit is None and marker is None:
        capabilities = _capabilities(context)
    else:
        capabilities = _capabilities(context, [row.id for row in rows])
    return [_view(row, capabilities.get(row.id, {})) for row in rows]


@db_api.reader
def find_by_hostname(context, hypervisor_hostname):
    return context.session.execute(
        sa.select(H.c.id).where(H.c.hypervisor_hostname == hypervisor_hostname)
    ).scalar_one_or_none()


@db_api.reader
def service_names(context, host_ids):
    """``{host id: compute service host}`` (what Nova aggregates hold)."""
    if not host_ids:
        return {}
    return dict(context.session.execute(
        sa.select(H.c.id, H.c.service_name).where(H.c.id.in_(list(host_ids)))).all())


# Capabilities ---------------------------------------------------------------------

def ensure_properties(context, resource_type, names):
    """``{name: resource property id}``, creating the missing names.

    Each creation is its own short transaction, so two enrollments introducing the
    same name at once both succeed (one insert wins, the other reads it). Call it
    outside any transaction of ``context``.
    """
    names = sorted(set(names))
    if not names:
        return {}
    found = property_ids(context, resource_type, names)
    for name in names:
        if name in found:
            continue
        try:
            with db_api.writer.using(context):
                context.session.execute(sa.insert(P).values(
                    resource_type=resource_type, property_name=name, private=False,
                    created_at=_now()))
        except db_exc.DBDuplicateEntry:
            pass
    return property_ids(context, resource_type, names)


@db_api.reader
def property_ids(context, resource_type, names):
    """``{name: id}`` of the existing capability names among ``names``."""
    if not names:
        return {}
    return dict(context.session.execute(
        sa.select(P.c.property_name, P.c.id).where(P.c.resource_type == resource_type,
                                                   P.c.property_name.in_(names))).all())


@db_api.reader
def known_properties(context, resource_type, names):
    """The ones of ``names`` that are capability names of some host."""
    if not names:
        return set()
    return set(property_ids(context, resource_type, sorted(names)))


def _now():
    return timeutils.utcnow()


def _write_capabilities(context, host_id, capabilities, ids_by_name):
    """Set or remove (None) capabilities of one host.

    ``capabilities`` maps names to ``(text, number or None)`` or None.
    """
    now = _now()
    for name, value in capabilities.items():
        property_id = ids_by_name.get(name)
        if property_id is None:
            continue
        where = (C.c.computehost_id == host_id, C.c.property_id == property_id)
        if value is None:
            context.session.execute(sa.delete(C).where(*where))
            continue
        text, number = value
        values = {'capability_value': text, 'capability_number': number}
        updated = context.session.execute(
            sa.update(C).where(*where).values(updated_at=now, **values)).rowcount
        if not updated:
            context.session.execute(sa.insert(C).values(
                computehost_id=host_id, property_id=property_id, created_at=now,
                **values))


# Writes ---------------------------------------------------------------------------

@db_api.writer
def create(context, inventory, capabilities, ids_by_name, reservable=True,
           trust_id=None):
    """Insert a host with its inventory and capabilities; its new id.

    :raises Conflict: (409) a host with this hypervisor hostname is enrolled.
    """
    try:
        host_id = context.session.execute(sa.insert(H).values(
            reservable=reservable, trust_id=trust_id, generation=0, created_at=_now(),
            **{k: inventory[k] for k in INVENTORY_COLUMNS})).inserted_primary_key[0]
        context.session.flush()
    except db_exc.DBDuplicateEntry:
        raise exceptions.Conflict(
            f'Host {inventory["hypervisor_hostname"]} is already enrolled') from None
    _write_capabilities(context, host_id, capabilities, ids_by_name)
    return host_id


@db_api.writer
def update(context, host_id, capabilities, ids_by_name, reservable=None):
    """Change capabilities (None removes one) and/or ``reservable``; bump generation."""
    values = {'generation': H.c.generation + 1, 'updated_at': _now()}
    if reservable is not None:
        values['reservable'] = reservable
    if not context.session.execute(sa.update(H).where(H.c.id == host_id)
                                   .values(**values)).rowcount:
        raise exceptions.HostNotFound(host=host_id)
    _write_capabilities(context, host_id, capabilities, ids_by_name)


@db_api.reader
def is_allocated(context, host_id, now):
    """Whether the host has an allocation (whole or a slice) that has not ended."""
    return any(context.session.execute(
        sa.select(T.c.id).where(T.c.compute_host_id == host_id, T.c.end_date > now)
        .limit(1)).first() is not None for T in (A, S))


@db_api.writer
def delete(context, host_id, now):
    """Delete a host with no current or future allocation, atomically.

    The check and the delete are tied by the host's generation: a reservation that
    claims the host in between makes the delete match no row (ClaimConflict), and one
    that claims it after finds no host. Past allocations go with the host.

    :raises HostNotFound:
    :raises CantDeleteHost: (409) the host is allocated now or later.
    :raises ClaimConflict: the host changed meanwhile; try again.
    """
    busy = sa.or_(*[sa.select(T.c.id).where(T.c.compute_host_id == H.c.id,
                                            T.c.end_date > now).exists()
                    for T in (A, S)])
    row = context.session.execute(
        sa.select(H.c.generation, busy.label('busy')).where(H.c.id == host_id)
    ).one_or_none()
    if row is None:
        raise exceptions.HostNotFound(host=host_id)
    if row.busy:
        raise exceptions.CantDeleteHost(
            host=host_id, msg='It has current or future allocations.')
    for table in (A, S):
        context.session.execute(sa.delete(table).where(
            table.c.compute_host_id == host_id, table.c.end_date <= now))
    deleted = context.session.execute(
        sa.delete(H).where(H.c.id == host_id, H.c.generation == row.generation)).rowcount
    if deleted != 1:
        raise exceptions.ClaimConflict(what=f'host {host_id}')


# Resource properties ----------------------------------------------------------------

@db_api.reader
def list_properties(context, resource_type, include_private=False, detail=False):
    """Capability names some host carries, with their distinct values if ``detail``."""
    query = (sa.select(P.c.property_name, P.c.private, C.c.capability_value)
             .select_from(P.join(C, C.c.property_id == P.c.id))
             .where(P.c.resource_type == resource_type)
             .distinct()
             .order_by(P.c.property_name, C.c.capability_value))
    if not include_private:
        query = query.where(P.c.private.is_(False))
    listed = {}
    for name, private, value in context.session.execute(query):
        entry = listed.setdefault(name, {'property': name, 'private': private,
                                         'values': []})
        entry['values'].append(value)
    if detail:
        return list(listed.values())
    return [{'property': name} for name in listed]


@db_api.writer
def update_property(context, resource_type, name, private):
    now = _now()
    updated = context.session.execute(
        sa.update(P).where(P.c.resource_type == resource_type, P.c.property_name == name)
        .values(private=private, updated_at=now)).rowcount
    if not updated:
        raise exceptions.NotFound(f'Resource property {limits.quote(name, 64)} not found')
    row = context.session.execute(
        sa.select(P).where(P.c.resource_type == resource_type,
                           P.c.property_name == name)).one()
    return {'id': str(row.id), 'resource_type': row.resource_type,
            'property_name': row.property_name, 'private': row.private,
            'created_at': timeutils.format_date(row.created_at),
            'updated_at': timeutils.format_date(row.updated_at)}
