"""Host failures and maintenance windows in the database, and what healing records.

A host is *down* when ``computehosts.status`` is ``'down'`` (NULL or ``'up'``: up);
``status_reason`` says why. It is *in maintenance* over the windows of its
``host_maintenances`` rows. A host that is down, or in maintenance anywhere in a
window, is not offered for that window by the free-host search
(:mod:`climate.db.host_search` checks both for every resource type).

Only one manager acts on a change of a host's health: :func:`mark_down` and
:func:`mark_up` are conditional UPDATEs, and the manager whose UPDATE changed the row
is the one that heals. Both bump the host's generation, so a claim that read the host
healthy loses (invariant 1 of the architecture page).

Healing moves an allocation with a compare-and-update of its host
(:func:`move_allocation`): of two managers healing the same allocation, one moves it
and the other's UPDATE matches nothing.
"""

import datetime
import uuid

import sqlalchemy as sa

from climate.common import states
from climate.common import timeutils
from climate.db import api as db_api
from climate.db import models

H = models.ComputeHost.__table__
A = models.ComputeHostAllocation.__table__
R = models.Reservation.__table__
L = models.Lease.__table__
CR = models.ComputeHostReservation.__table__
M = models.HostMaintenance.__table__
HR = models.HealingRecord.__table__

UP = 'up'
DOWN = 'down'
#: Healing record actions.
REPLACED = 'replaced'          # an allocation moved to another host
DEGRADED = 'degraded'          # no host could replace it (or the policy is keep)
RESTORED = 'restored'          # the reservation is whole again
REALLOCATED = 'reallocated'    # moved by an admin (reallocate or maintenance)
KEEP = 'keep'
REPLACE = 'replace'

_up = sa.or_(H.c.status.is_(None), H.c.status != DOWN)


def not_host_clause(host_ids):
    """A WHERE clause excluding ``host_ids`` (a reallocation moves away from them)."""
    return H.c.id.notin_(sorted(host_ids))


# Health ---------------------------------------------------------------------------------

@db_api.reader
def monitored(context):
    """``{service name: (host id, status)}`` of every enrolled host."""
    return {row.service_name: (row.id, row.status or UP) for row in context.session
            .execute(sa.select(H.c.id, H.c.service_name, H.c.status))}


@db_api.writer
def mark_down(context, host_id, reason):
    """Set the host down with ``reason``; True if this call changed it."""
    return context.session.execute(
        sa.update(H).where(H.c.id == host_id, _up)
        .values(status=DOWN, status_reason=reason, generation=H.c.generation + 1,
                updated_at=timeutils.utcnow())
        .execution_options(synchronize_session=False)).rowcount == 1


@db_api.writer
def mark_up(context, host_id):
    """Set the host up again; True if this call changed it."""
    return context.session.execute(
        sa.update(H).where(H.c.id == host_id, H.c.status == DOWN)
        .values(status=UP, status_reason=None, generation=H.c.generation + 1,
                updated_at=timeutils.utcnow())
        .execution_options(synchronize_session=False)).rowcount == 1


# What to heal ---------------------------------------------------------------------------

def unhealthy_clause(horizon_end, table=A):
    """Rows of ``table`` (whole-host allocations, or capacity slices) on a down host
    (starting before ``horizon_end`` if given), or overlapping a maintenance window of
    their host; ``computehosts`` must be joined."""
    down = sa.and_(H.c.status == DOWN,
                   table.c.start_date < horizon_end if horizon_end is not None
                   else sa.true())
    maintained = (sa.select(M.c.id)
                  .where(M.c.compute_host_id == table.c.compute_host_id,
                         M.c.start_date < table.c.end_date,
                         M.c.end_date > table.c.start_date)
                  .exists())
    return sa.or_(down, maintained)


@db_api.reader
def allocations_to_heal(context, now, horizon_end=None):
    """The allocations of pending or active host reservations that healing must move:
    not ended, on a down host within the horizon or overlapping a maintenance.

    :returns: plain dicts ``id, host_id, reservation_id, lease_id, project_id,
        start, end,
        lease_status, reservation_status, on_host_failure, host_down``.
    """
    query = (sa.select(A.c.id, A.c.compute_host_id.label('host_id'),
                       A.c.reservation_id, R.c.lease_id, L.c.project_id,
                       A.c.start_date.label('start'),
                       A.c.end_date.label('end'), L.c.status.label('lease_status'),
                       R.c.status.label('reservation_status'),
                       CR.c.on_host_failure, (H.c.status == DOWN).label('host_down'))
             .select_from(A.join(H, H.c.id == A.c.compute_host_id)
                          .join(R, R.c.id == A.c.reservation_id)
                          .join(L, L.c.id == R.c.lease_id)
                          .join(CR, CR.c.reservation_id == R.c.id))
             .where(A.c.end_date > now,
                    R.c.status.in_((states.Reservation.PENDING,
                                    states.Reservation.ACTIVE)),
                    unhealthy_clause(horizon_end))
             .order_by(A.c.start_date, A.c.id))
    return [dict(row._mapping) for row in context.session.execute(query)]


@db_api.reader
def allocations_on(context, host_id, now, start=None, end=None, lease_id=None,
                   reservation_id=None):
    """Not-ended allocations of ``host_id`` (overlapping ``[start, end)`` if given),
    in the shape of :func:`allocations_to_heal`."""
    query = (sa.select(A.c.id, A.c.compute_host_id.label('host_id'),
                       A.c.reservation_id, R.c.lease_id, L.c.project_id,
                       A.c.start_date.label('start'),
                       A.c.end_date.label('end'), L.c.status.label('lease_status'),
                       R.c.status.label('reservation_status'), CR.c.on_host_failure)
             .select_from(A.join(R, R.c.id == A.c.reservation_id)
                          .join(L, L.c.id == R.c.lease_id)
                          .join(CR, CR.c.reservation_id == R.c.id))
             .where(A.c.compute_host_id == host_id, A.c.end_date > now)
             .order_by(A.c.start_date, A.c.id))
    if start is not None:
        query = query.where(A.c.end_date > start, A.c.start_date < end)
    if lease_id is not None:
        query = query.where(R.c.lease_id == lease_id)
    if reservation_id is not None:
        query = query.where(A.c.reservation_id == reservation_id)
    return [dict(row._mapping) for row in context.session.execute(query)]


@db_api.reader
def unhealthy_reservations(context, reservation_ids, now, horizon_end=None):
    """Those of ``reservation_ids`` still holding an allocation to heal."""
    if not reservation_ids:
        return set()
    return set(context.session.execute(
        sa.select(A.c.reservation_id).distinct()
        .select_from(A.join(H, H.c.id == A.c.compute_host_id))
        .where(A.c.reservation_id.in_(sorted(reservation_ids)), A.c.end_date > now,
               unhealthy_clause(horizon_end))).scalars())


@db_api.reader
def flagged_reservations(context, resource_type='physical:host'):
    """``{reservation id: lease id}`` of the reservations of ``resource_type`` marked
    missing resources, not finished."""
    return dict(context.session.execute(
        sa.select(R.c.id, R.c.lease_id)
        .where(R.c.missing_resources.is_(True),
               R.c.resource_type == resource_type,
               R.c.status.in_((states.Reservation.PENDING,
                               states.Reservation.ACTIVE)))).all())


# Changes, in the caller's transaction -------------------------------------------------

def hold_lease(context, lease_id):
    """Lock the lease's row for the caller's transaction if it is PENDING or ACTIVE;
    False otherwise. A start, end or update of the lease changes its status in a
    transaction of its own: it waits for this one, or this one sees the new status and
    leaves the lease for the next pass, so no event reads the hosts of a reservation
    half-moved."""
    return context.session.execute(
        sa.update(L).where(L.c.id == lease_id,
                           L.c.status.in_((states.Lease.PENDING, states.Lease.ACTIVE)))
        .values(updated_at=L.c.updated_at)
        .execution_options(synchronize_session=False)).rowcount == 1


def move_allocation(context, allocation_id, from_host, to_host, start=None):
    """Move one allocation from ``from_host`` to ``to_host`` (claimed already); False
    when it is no longer on ``from_host`` (another manager moved it, or it ended)."""
    values = {'compute_host_id': to_host, 'updated_at': timeutils.utcnow()}
    if start is not None:
        values['start_date'] = start
    return context.session.execute(
        sa.update(A).where(A.c.id == allocation_id, A.c.compute_host_id == from_host)
        .values(**values).execution_options(synchronize_session=False)).rowcount == 1


def set_missing(context, reservation_id, missing):
    """Set the reservation's ``missing_resources``; True if it changed."""
    return context.session.execute(
        sa.update(R).where(R.c.id == reservation_id,
                           R.c.missing_resources.isnot(missing))
        .values(missing_resources=missing)
        .execution_options(synchronize_session=False)).rowcount == 1


def set_changed(context, reservation_id):
    context.session.execute(
        sa.update(R).where(R.c.id == reservation_id)
        .values(resources_changed=True).execution_options(synchronize_session=False))


def refresh_degraded(context, lease_id):
    """``degraded`` of the lease = one of its reservations misses resources."""
    missing = (sa.select(R.c.id).where(R.c.lease_id == lease_id,
                                       R.c.missing_resources.is_(True)).exists())
    context.session.execute(
        sa.update(L).where(L.c.id == lease_id)
        .values(degraded=sa.case((missing, sa.true()), else_=sa.false()))
        .execution_options(synchronize_session=False))


def record(context, lease_id, reservation_id, action, failed_host_id=None,
           new_host_id=None, reason=None):
    context.session.execute(sa.insert(HR).values(
        id=str(uuid.uuid4()), lease_id=lease_id, reservation_id=reservation_id,
        action=action, failed_host_id=failed_host_id, new_host_id=new_host_id,
        reason=reason, created_at=timeutils.utcnow()))


@db_api.reader
def records(context, reservation_ids):
    """``{reservation id: [record dicts, oldest first]}``."""
    if not reservation_ids:
        return {}
    found = {}
    for row in context.session.execute(
            sa.select(HR).where(HR.c.reservation_id.in_(sorted(reservation_ids)))
            .order_by(HR.c.created_at, HR.c.id)):
        found.setdefault(row.reservation_id, []).append({
            'action': row.action,
            'failed_host': None if row.failed_host_id is None
            else str(row.failed_host_id),
            'new_host': None if row.new_host_id is None else str(row.new_host_id),
            'reason': row.reason, 'time': timeutils.format_date(row.created_at)})
    return found


# Maintenance windows ---------------------------------------------------------------------

def insert_maintenance(context, host_id, start, end, reason):
    maintenance_id = str(uuid.uuid4())
    context.session.execute(sa.insert(M).values(
        id=maintenance_id, compute_host_id=host_id, start_date=start, end_date=end,
        reason=reason, created_at=timeutils.utcnow()))
    return maintenance_id


def _maintenance_view(row):
    return {'id': row.id, 'host_id': str(row.compute_host_id),
            'start_date': timeutils.format_date(row.start_date),
            'end_date': timeutils.format_date(row.end_date), 'reason': row.reason}


@db_api.reader
def maintenances(context, host_id=None, now=None, maintenance_id=None):
    """Maintenance windows (not ended at ``now`` if given), as API dicts."""
    query = sa.select(M).order_by(M.c.compute_host_id, M.c.start_date)
    if host_id is not None:
        query = query.where(M.c.compute_host_id == host_id)
    if now is not None:
        query = query.where(M.c.end_date > now)
    if maintenance_id is not None:
        query = query.where(M.c.id == maintenance_id)
    return [_maintenance_view(row) for row in context.session.execute(query)]


@db_api.writer
def delete_maintenance(context, host_id, maintenance_id):
    """Delete a window; True if it existed. Bumps the host's generation (a search
    that saw the host in maintenance starts over: nothing to lose, see claims)."""
    deleted = context.session.execute(
        sa.delete(M).where(M.c.id == maintenance_id, M.c.compute_host_id == host_id)
        .execution_options(synchronize_session=False)).rowcount == 1
    if deleted:
        context.session.execute(
            sa.update(H).where(H.c.id == host_id)
            .values(generation=H.c.generation + 1, updated_at=H.c.updated_at)
            .execution_options(synchronize_session=False))
    return deleted


def horizon_end(now, minutes):
    """The end of the healing horizon (None: no horizon, heal everything)."""
    return None if not minutes else now + datetime.timedelta(minutes=minutes)
