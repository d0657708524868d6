"""physical:host's reservation rows (``computehost_reservations``): what was asked.

One row per reservation keeps the request as the API shows it back: ``min``/``max``
(stored as Blazar's ``count_range`` text ``"min-max"``), the two requirement texts and
``before_end``, and ``on_host_failure`` (NULL for the default ``replace``).
Functions take and return the request's fields as a dict with the
API's names; the hosts a reservation holds are its allocations
(:mod:`climate.db.host_allocations`).
"""

import types

import sqlalchemy as sa

from climate.common import timeutils
from climate.db import api as db_api
from climate.db import models

CR = models.ComputeHostReservation.__table__
_INSERT = CR.insert()  # built once (its cache key is worked out per new statement)
A = models.ComputeHostAllocation.__table__


def _stored(values):
    return {'count_range': f'{values["min"]}-{values["max"]}',
            'hypervisor_properties': values['hypervisor_properties'],
            'resource_properties': values['resource_properties'],
            'before_end': values['before_end'],
            'on_host_failure': (None if values.get('on_host_failure', 'replace')
                                == 'replace' else values['on_host_failure'])}


def _fields(row):
    """A stored row's fields as the API shows them (and an update compares them)."""
    minimum, _, maximum = (row.count_range or '1-1').partition('-')
    return {'min': int(minimum), 'max': int(maximum or minimum),
            'hypervisor_properties': row.hypervisor_properties or '',
            'resource_properties': row.resource_properties or '',
            'before_end': row.before_end if row.before_end is not None else 'default',
            'on_host_failure': row.on_host_failure or 'replace'}


def shown(values):
    """The fields :func:`many` will read for a row :func:`create` made of
    ``values``."""
    return _fields(types.SimpleNamespace(**_stored(values)))


# In the lease's transaction -----------------------------------------------------------

def create(context, reservation_id, values, row_id=None):
    """Insert the reservation's row; its id (the reservation's ``resource_id``):
    ``row_id``, or a new one."""
    row_id = row_id or models.new_id()
    context.session.execute(_INSERT, {'id': row_id, 'reservation_id': reservation_id,
                                          **_stored(values)})
    return row_id


@db_api.reader
def get(context, reservation_id):
    """The reservation's request fields (``min``, ``max``, properties, ``before_end``)."""
    return _fields(context.session.execute(
        sa.select(CR).where(CR.c.reservation_id == reservation_id)).one())


def store(context, reservation_id, values):
    """Replace the reservation's request fields."""
    context.session.execute(
        sa.update(CR).where(CR.c.reservation_id == reservation_id)
        .values(updated_at=timeutils.utcnow(), **_stored(values))
        .execution_options(synchronize_session=False))


# Reads ----------------------------------------------------------------------------------

@db_api.reader
def many(context, reservation_ids):
    """``{reservation id: request fields}`` of those among ``reservation_ids`` with a
    row."""
    if not reservation_ids:
        return {}
    rows = context.session.execute(
        sa.select(CR).where(CR.c.reservation_id.in_(list(reservation_ids)))).all()
    return {row.reservation_id: _fields(row) for row in rows}


@db_api.reader
def before_end(context, reservation_id):
    """The stored ``before_end`` choice (None for a reservation without a row)."""
    return context.session.execute(
        sa.select(CR.c.before_end).where(CR.c.reservation_id == reservation_id)
    ).scalar()


@db_api.reader
def requirements_of_holders(context, host_id, now):
    """``(hypervisor_properties, resource_properties)`` texts of the reservations
    holding the host now or later."""
    return [tuple(row) for row in context.session.execute(
        sa.select(CR.c.hypervisor_properties, CR.c.resource_properties)
        .select_from(A.join(CR, CR.c.reservation_id == A.c.reservation_id))
        .where(A.c.compute_host_id == host_id, A.c.end_date > now))]
