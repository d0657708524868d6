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

The reads (whole hosts from ``compute_host_allocations``, vcpus, memory and
instances from the slices of capacity reservations, ``capacity_allocations``) return
plain tuples and dicts; the quota arithmetic is the manager's
(``climate.manager.enforcement.quota``).
"""

from oslo_db import exception as db_exc
import sqlalchemy as sa

from climate import exceptions
from climate.common import states
from climate.db import models
from climate.db import types

LOCKS = models.ProjectUsageLock.__table__
LEASES = models.Lease.__table__
RESERVATIONS = models.Reservation.__table__
ALLOCATIONS = models.ComputeHostAllocation.__table__
SLICES = models.CapacityAllocation.__table__
#: What a capacity reservation's slices hold, by the quota's resource names.
SLICE_AMOUNTS = (('vcpus', SLICES.c.vcpus), ('memory_mb', SLICES.c.memory_mb),
                 ('instances', SLICES.c.instances))
#: The ``*_hours`` names of :data:`SLICE_AMOUNTS`, in order.
CAPACITY_HOURS = ('vcpu_hours', 'memory_mb_hours', 'instance_hours')

#: Leases that hold nothing any more.
_DONE = (states.Lease.TERMINATED,)


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


def overlapping_leases(context, project_id, start, end):
    """``(id, start, end)`` of the project's unfinished leases overlapping
    ``[start, end)``."""
    return [tuple(row) for row in context.session.execute(
        sa.select(LEASES.c.id, LEASES.c.start_date, LEASES.c.end_date).where(
            LEASES.c.project_id == project_id, LEASES.c.status.notin_(_DONE),
            LEASES.c.start_date < end, LEASES.c.end_date > start))]


def hosts_held(context, project_id, start, end):
    """``(lease_id, lease start, lease end, hosts)`` for each of the project's live
    host reservations whose lease overlaps ``[start, end)`` (one grouped query)."""
    return [tuple(row) for row in context.session.execute(
        sa.select(LEASES.c.id, LEASES.c.start_date, LEASES.c.end_date, sa.func.count())
        .select_from(ALLOCATIONS
                     .join(RESERVATIONS, ALLOCATIONS.c.reservation_id == RESERVATIONS.c.id)
                     .join(LEASES, RESERVATIONS.c.lease_id == LEASES.c.id))
        .where(*_live(project_id, start, end))
        .group_by(RESERVATIONS.c.id, LEASES.c.id, LEASES.c.start_date,
                  LEASES.c.end_date))]


def host_hours(context, project_id, start, end, exclude_lease_id=None):
    """Host × hours the project's live host reservations hold inside ``[start, end)``
    (one aggregate: each allocation row is one host over its lease's window)."""
    seconds = _overlap_seconds(context, ALLOCATIONS.c, start, end)
    query = (sa.select(sa.func.sum(seconds))
             .select_from(ALLOCATIONS
                          .join(RESERVATIONS,
                                ALLOCATIONS.c.reservation_id == RESERVATIONS.c.id)
                          .join(LEASES, RESERVATIONS.c.lease_id == LEASES.c.id))
             .where(*_live(project_id, start, end)))
    if exclude_lease_id is not None:
        query = query.where(LEASES.c.id != exclude_lease_id)
    return float(context.session.execute(query).scalar() or 0) / 3600


def capacity_held(context, project_id, start, end, resource_type):
    """``(lease_id, lease start, lease end, {'vcpus', 'memory_mb', 'instances'})``
    for each of the project's live capacity reservations of ``resource_type``
    whose lease overlaps ``[start, end)``: the sums of its slices (one grouped
    query; a reservation without slices holds nothing)."""
    query = (sa.select(LEASES.c.id, LEASES.c.start_date, LEASES.c.end_date,
                       *(sa.func.sum(column) for _name, column in SLICE_AMOUNTS))
             .select_from(_slices_join())
             .where(*_live(project_id, start, end),
                    RESERVATIONS.c.resource_type == resource_type)
             .group_by(RESERVATIONS.c.id, LEASES.c.id, LEASES.c.start_date,
                       LEASES.c.end_date))
    return [(row[0], row[1], row[2],
             {name: int(value or 0) for (name, _c), value in zip(SLICE_AMOUNTS, row[3:])})
            for row in context.session.execute(query)]


def capacity_hours(context, project_id, start, end, resource_type,
                   exclude_lease_id=None):
    """``{'vcpu_hours', 'memory_mb_hours', 'instance_hours'}`` the project's live
    capacity reservations of ``resource_type`` hold inside ``[start, end)`` (one
    aggregate over their slices, each over its own window)."""
    seconds = _overlap_seconds(context, SLICES.c, start, end)
    query = (sa.select(*(sa.func.sum(column * seconds)
                         for _name, column in SLICE_AMOUNTS))
             .select_from(_slices_join())
             .where(*_live(project_id, start, end),
                    RESERVATIONS.c.resource_type == resource_type))
    if exclude_lease_id is not None:
        query = query.where(LEASES.c.id != exclude_lease_id)
    row = context.session.execute(query).one()
    return {name: float(value or 0) / 3600
            for name, value in zip(CAPACITY_HOURS, row)}


def _slices_join():
    return (SLICES.join(RESERVATIONS, SLICES.c.reservation_id == RESERVATIONS.c.id)
            .join(LEASES, RESERVATIONS.c.lease_id == LEASES.c.id))


def _overlap_seconds(context, columns, start, end):
    """Seconds of ``[columns.start_date, columns.end_date)`` inside ``[start, end)``
    (the rows are chosen to overlap it)."""
    begin = _greatest(context, columns.start_date,
                      sa.bindparam('p_start', start, type_=types.UTCDateTime()))
    finish = _least(context, columns.end_date,
                    sa.bindparam('p_end', end, type_=types.UTCDateTime()))
    return _seconds(context, begin, finish)


def _dialect(context):
    return context.session.get_bind().dialect.name


def _greatest(context, *args):
    return (sa.func.max if _dialect(context) == 'sqlite' else sa.func.greatest)(*args)


def _least(context, *args):
    return (sa.func.min if _dialect(context) == 'sqlite' else sa.func.least)(*args)


def _seconds(context, begin, finish):
    """Seconds from ``begin`` to ``finish`` (two datetimes) in the backend's SQL."""
    name = _dialect(context)
    if name == 'mysql':
        return sa.func.timestampdiff(sa.text('MICROSECOND'), begin, finish) / 1000000.0
    if name == 'postgresql':
        return sa.extract('epoch', finish - begin)
    return (sa.func.julianday(finish) - sa.func.julianday(begin)) * 86400.0


def _live(project_id, start, end):
    """The project's unfinished leases and live reservations overlapping the window."""
    return (LEASES.c.project_id == project_id, LEASES.c.status.notin_(_DONE),
            RESERVATIONS.c.status != states.Reservation.DELETED,
            LEASES.c.start_date < end, LEASES.c.end_date > start)
