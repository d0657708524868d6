"""Capacity reservations' request rows (``capacity_reservations``).

One row per ``virtual:instance`` reservation in capacity mode (no ``resource_id``) or
``flavor:instance`` reservation: the size of one instance, ``amount``, ``affinity``,
``resource_properties``, ``on_host_failure`` (NULL for the default ``replace``),
``on_end`` (NULL for ``delete``, rows older than the field), the
source flavor of a ``flavor:instance`` reservation and its extra specs (JSON), and the
ids of the Nova aggregate and server group made for
it. Functions take and return the fields as a dict with the API's names.
"""

import json

import sqlalchemy as sa

from climate.common import timeutils
from climate.db import api as db_api
from climate.db import models

CR = models.CapacityReservation.__table__
_INSERT = CR.insert()  # built once (its cache key is worked out per new statement)
FIELDS = ('vcpus', 'memory_mb', 'disk_gb', 'amount', 'affinity',
          'resource_properties', 'source_flavor_id', 'extra_specs', 'on_host_failure', 'on_end')


def _fields(row):
    return {'vcpus': row.vcpus, 'memory_mb': row.memory_mb, 'disk_gb': row.disk_gb,
            'amount': row.amount, 'affinity': row.affinity,
            'resource_properties': row.resource_properties or '',
            'source_flavor_id': row.source_flavor_id,
            'extra_specs': json.loads(row.extra_specs) if row.extra_specs else {},
            'aggregate_id': row.aggregate_id, 'server_group_id': row.server_group_id,
            'resource_type': row.resource_type,
            'on_host_failure': row.on_host_failure or 'replace',
            'on_end': row.on_end or 'delete'}


def created(resource_type, values):
    """What :func:`get` reads of the row :func:`create` writes of ``values``, before
    any Nova object is recorded (a create's answer, without reading it back)."""
    stored = _stored(values)
    return {'vcpus': stored.get('vcpus'), 'memory_mb': stored.get('memory_mb'),
            'disk_gb': stored.get('disk_gb'), 'amount': stored.get('amount'),
            'affinity': stored.get('affinity'),
            'resource_properties': stored.get('resource_properties') or '',
            'source_flavor_id': stored.get('source_flavor_id'),
            'extra_specs': json.loads(stored['extra_specs'])
            if stored.get('extra_specs') else {},
            'aggregate_id': None, 'server_group_id': None,
            'resource_type': resource_type,
            'on_host_failure': stored.get('on_host_failure') or 'replace',
            'on_end': stored.get('on_end') or 'delete'}


def _stored(values):
    stored = {k: values[k] for k in FIELDS if k in values}
    if 'on_host_failure' in stored:
        stored['on_host_failure'] = (None if stored['on_host_failure'] in
                                     (None, 'replace') else stored['on_host_failure'])
    if 'extra_specs' in stored:
        stored['extra_specs'] = json.dumps(stored['extra_specs'] or {}, sort_keys=True)
    return stored


# In the lease's transaction -------------------------------------------------------------

def create(context, reservation_id, resource_type, values, row_id=None):
    """Insert the reservation's row; its id (the reservation's ``resource_id``):
    ``row_id``, or a new one."""
    row_id = row_id or models.new_id()
    context.session.execute(_INSERT, {
        'id': row_id, 'reservation_id': reservation_id, 'resource_type': resource_type,
        **_stored(values)})
    return row_id


def store(context, reservation_id, values):
    """Replace the request fields given in ``values``."""
    context.session.execute(
        sa.update(CR).where(CR.c.reservation_id == reservation_id)
        .values(updated_at=timeutils.utcnow(), **_stored(values))
        .execution_options(synchronize_session=False))


@db_api.writer
def set_nova_ids(context, reservation_id, aggregate_id=None, server_group_id=None):
    """Record the ids of the Nova objects made for the reservation."""
    values = {}
    if aggregate_id is not None:
        values['aggregate_id'] = aggregate_id
    if server_group_id is not None:
        values['server_group_id'] = server_group_id
    if values:
        context.session.execute(
            sa.update(CR).where(CR.c.reservation_id == reservation_id).values(**values)
            .execution_options(synchronize_session=False))


# Reads ------------------------------------------------------------------------------------

@db_api.reader
def get(context, reservation_id):
    """The reservation's fields, or None (not a capacity reservation)."""
    row = context.session.execute(
        sa.select(CR).where(CR.c.reservation_id == reservation_id)).first()
    return _fields(row) if row is not None else None


@db_api.reader
def many(context, reservation_ids):
    """``{reservation id: fields}`` of those among ``reservation_ids`` with a row."""
    if not reservation_ids:
        return {}
    rows = context.session.execute(
        sa.select(CR).where(CR.c.reservation_id.in_(list(reservation_ids)))).all()
    return {row.reservation_id: _fields(row) for row in rows}
