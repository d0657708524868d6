"""Host failures seen from capacity reservations: which slices healing must move, and
the move itself.

A slice (``capacity_allocations``) must move when its host is down and it starts
within the healing horizon, or when it overlaps a maintenance window of its host (the
same rule as for whole-host allocations, :func:`climate.db.host_health.unhealthy_clause`).
Healing takes the slices of one reservation on one failed host together
(:func:`take`, a compare-and-delete on their host: of two managers healing them, one
takes them and the other's DELETE matches fewer rows and rolls back), then writes the
replacement slices on hosts it claimed (:mod:`climate.db.claims`), in one
transaction.
"""

import sqlalchemy as sa

from climate.common import states
from climate.db import api as db_api
from climate.db import host_health
from climate.db import models

H = models.ComputeHost.__table__
S = models.CapacityAllocation.__table__
R = models.Reservation.__table__
L = models.Lease.__table__
CR = models.CapacityReservation.__table__

_LIVE = (states.Reservation.PENDING, states.Reservation.ACTIVE)


@db_api.reader
def slices_to_heal(context, resource_type, now, horizon_end=None):
    """The slices of pending or active capacity reservations of ``resource_type`` that
    healing must move, grouped by reservation and host.

    :returns: plain dicts in the shape of
        :func:`climate.db.host_health.allocations_to_heal` (``id`` is the first
        slice's), plus ``slice_ids``, ``instances`` (summed), ``affinity``; ``start``
        and ``end`` span the group's slices.
    """
    query = _slices_query(resource_type).where(
        S.c.end_date > now, R.c.status.in_(_LIVE),
        host_health.unhealthy_clause(horizon_end, S))
    return _grouped(context, query)


@db_api.reader
def slices_on(context, resource_type, host_id, now, start=None, end=None,
              lease_id=None, reservation_id=None):
    """The not-ended slices of live reservations of ``resource_type`` on ``host_id``
    (overlapping ``[start, end)`` if given), grouped as by :func:`slices_to_heal`:
    what an admin's reallocation or a maintenance window moves off the host."""
    query = _slices_query(resource_type).where(
        S.c.compute_host_id == host_id, S.c.end_date > now, R.c.status.in_(_LIVE))
    if start is not None:
        query = query.where(S.c.end_date > start, S.c.start_date < end)
    if lease_id is not None:
        query = query.where(R.c.lease_id == lease_id)
    if reservation_id is not None:
        query = query.where(S.c.reservation_id == reservation_id)
    return _grouped(context, query)


def _slices_query(resource_type):
    return (sa.select(S.c.id, S.c.compute_host_id.label('host_id'),
                      S.c.reservation_id, R.c.lease_id, L.c.project_id,
                      S.c.start_date.label('start'), S.c.end_date.label('end'),
                      S.c.instances, L.c.status.label('lease_status'),
                      R.c.status.label('reservation_status'), CR.c.affinity,
                      sa.func.coalesce(CR.c.on_host_failure,
                                       host_health.REPLACE).label('on_host_failure'),
                      (H.c.status == host_health.DOWN).label('host_down'))
            .select_from(S.join(H, H.c.id == S.c.compute_host_id)
                         .join(R, R.c.id == S.c.reservation_id)
                         .join(L, L.c.id == R.c.lease_id)
                         .join(CR, CR.c.reservation_id == R.c.id))
            .where(CR.c.resource_type == resource_type)
            .order_by(S.c.start_date, S.c.id))


def _grouped(context, query):
    groups = {}
    for row in context.session.execute(query):
        item = dict(row._mapping)
        key = (item['reservation_id'], item['host_id'])
        group = groups.get(key)
        if group is None:
            item.update(slice_ids=[item['id']], host_down=bool(item['host_down']))
            groups[key] = item
            continue
        group['slice_ids'].append(item['id'])
        group['instances'] += item['instances']
        group['start'] = min(group['start'], item['start'])
        group['end'] = max(group['end'], item['end'])
    return list(groups.values())


@db_api.reader
def unhealthy_reservations(context, reservation_ids, now, horizon_end=None):
    """Those of ``reservation_ids`` still holding a slice to heal."""
    if not reservation_ids:
        return set()
    return set(context.session.execute(
        sa.select(S.c.reservation_id).distinct()
        .select_from(S.join(H, H.c.id == S.c.compute_host_id))
        .where(S.c.reservation_id.in_(sorted(reservation_ids)), S.c.end_date > now,
               host_health.unhealthy_clause(horizon_end, S))).scalars())


def take(context, slice_ids, host_id):
    """Delete the slices ``slice_ids`` if all are still on ``host_id`` (in the caller's
    transaction); False when one moved or ended meanwhile (roll back)."""
    return context.session.execute(
        sa.delete(S).where(S.c.id.in_(sorted(slice_ids)),
                           S.c.compute_host_id == host_id)
        .execution_options(synchronize_session=False)).rowcount == len(slice_ids)
