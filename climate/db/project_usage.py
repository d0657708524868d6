"""What a project holds over a window, read for usage policy, and the project lock
that makes the policy's check and the claim one atomic step.

The lock (:func:`lock`)
    Every transaction that claims capacity for a project and checks its quotas first
    bumps the project's row in ``project_usage_locks``. Two such transactions of one
    project therefore run one after the other: the second waits on the row lock
    (PostgreSQL, MariaDB) until the first commits, or, on Galera, one of them fails
    certification (``DBDeadlock``) and the lease service retries it
    (``climate.db.retry``). Taken as the transaction's *first* statement, before any
    read, so that on MariaDB (REPEATABLE READ: the snapshot is taken at the first
    read) the reads that follow see what the previous claim committed.

The reads return plain tuples; the quota arithmetic is the manager's
(``climate.manager.enforcement.quota``).
"""

import dataclasses
import datetime

from oslo_db import exception as db_exc
import sqlalchemy as sa

from climate import exceptions
from climate.common import states
from climate.db import models

LOCKS = models.ProjectUsageLock.__table__
LEASES = models.Lease.__table__
RESERVATIONS = models.Reservation.__table__
ALLOCATIONS = models.ComputeHostAllocation.__table__

#: Leases that hold nothing any more.
_DONE = (states.Lease.TERMINATED,)


@dataclasses.dataclass(frozen=True)
class HeldReservation:
    """A reservation of the project that overlaps the window asked about."""

    lease_id: str
    reservation_id: str
    resource_type: str
    start: datetime.datetime
    end: datetime.datetime


def lock(context, project_id):
    """Serialize this transaction with every other that locks ``project_id``.

    :raises ClaimConflict: two transactions made the project's first row at once;
        the loser is retried as any lost claim.
    """
    session = context.session
    bumped = session.execute(
        sa.update(LOCKS).where(LOCKS.c.project_id == project_id)
        .values(generation=LOCKS.c.generation + 1)
        .execution_options(synchronize_session=False)).rowcount
    if bumped:
        return
    try:
        session.execute(sa.insert(LOCKS).values(project_id=project_id, generation=1))
    except db_exc.DBDuplicateEntry:
        raise exceptions.ClaimConflict(what=f'usage of project {project_id}') from None


def held(context, project_id, start, end):
    """The project's live reservations whose lease window overlaps ``[start, end)``."""
    query = (sa.select(LEASES.c.id, RESERVATIONS.c.id, RESERVATIONS.c.resource_type,
                       LEASES.c.start_date, LEASES.c.end_date)
             .select_from(LEASES.join(RESERVATIONS,
                                      RESERVATIONS.c.lease_id == LEASES.c.id))
             .where(*_live(project_id, start, end)))
    return [HeldReservation(*row) for row in context.session.execute(query)]


def overlapping_leases(context, project_id, start, end):
    """``(id, start, end)`` of the project's unfinished leases overlapping
    ``[start, end)``."""
    return [tuple(row) for row in context.session.execute(
        sa.select(LEASES.c.id, LEASES.c.start_date, LEASES.c.end_date).where(
            LEASES.c.project_id == project_id, LEASES.c.status.notin_(_DONE),
            LEASES.c.start_date < end, LEASES.c.end_date > start))]


def hosts_held(context, project_id, start, end):
    """``{reservation_id: number of hosts allocated}`` for the project's live
    reservations whose lease overlaps ``[start, end)`` (one grouped query)."""
    rows = context.session.execute(
        sa.select(ALLOCATIONS.c.reservation_id, sa.func.count())
        .select_from(ALLOCATIONS
                     .join(RESERVATIONS, ALLOCATIONS.c.reservation_id == RESERVATIONS.c.id)
                     .join(LEASES, RESERVATIONS.c.lease_id == LEASES.c.id))
        .where(*_live(project_id, start, end))
        .group_by(ALLOCATIONS.c.reservation_id))
    return {reservation_id: count for reservation_id, count in rows}


def _live(project_id, start, end):
    """The project's unfinished leases and live reservations overlapping the window."""
    return (LEASES.c.project_id == project_id, LEASES.c.status.notin_(_DONE),
            RESERVATIONS.c.status != states.Reservation.DELETED,
            LEASES.c.start_date < end, LEASES.c.end_date > start)
