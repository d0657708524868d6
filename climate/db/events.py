"""The event queue: due events, their claim by one manager, heartbeats and results.

Ownership is taken with a conditional UPDATE (``... WHERE id = :id AND status =
'UNDONE'``): whichever manager's UPDATE changes the row owns the event, on every
backend and at its default isolation level. A claim is kept alive by heart-beats
(``claimed_at``); one whose owner fell silent for ``claim_timeout`` is taken over the
same way, conditioned on the stale ``claimed_at``.
"""

import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from climate.db import api as db_api
from climate.db import models
from climate.common import states

E = states.Event
_OPEN = (E.UNDONE, E.IN_PROGRESS)
# Leases in these states are busy with a user's request; their events wait.
_BUSY_LEASE = (states.Lease.CREATING, states.Lease.UPDATING, states.Lease.DELETING)


def _rank(event):
    """Order inside a lease: start, then before-end, then end."""
    return sa.case((event.event_type == E.START_LEASE, 0),
                   (event.event_type == E.BEFORE_END_LEASE, 1), else_=2)


def _claimable_query():
    """Built once: constructing this statement costs more than running it."""
    e = orm.aliased(models.Event)
    same_lease = orm.aliased(models.Event)
    earlier_in_lease = (
        sa.select(same_lease.id)
        .where(same_lease.lease_id == e.lease_id, same_lease.id != e.id,
               same_lease.status.in_(_OPEN), _rank(same_lease) < _rank(e))
        .exists())
    return (
        sa.select(e.id, e.event_type, e.lease_id, e.time)
        .join(models.Lease, models.Lease.id == e.lease_id)
        .where(e.status == E.UNDONE, e.due_at <= sa.bindparam('now'),
               models.Lease.status.not_in(_BUSY_LEASE),
               ~earlier_in_lease,
               sa.or_(e.event_type != E.START_LEASE,
                      e.time < sa.bindparam('first_open_end')))
        # due_at order follows the (status, due_at) index, so the scan stops after
        # ``limit`` matches; the batch is then put in (time, phase) order.
        .order_by(e.due_at)
        .limit(sa.bindparam('limit')))


_CLAIMABLE = _claimable_query()
_FIRST_OPEN_END = (sa.select(sa.func.min(models.Event.time))
                   .where(models.Event.event_type == E.END_LEASE,
                          models.Event.status.in_(_OPEN)))
_NEVER = datetime.datetime(9999, 1, 1, tzinfo=datetime.timezone.utc)
_PHASE = {E.START_LEASE: 0, E.BEFORE_END_LEASE: 1, E.END_LEASE: 2}


@db_api.reader
def claimable(context, now, limit):
    """Due UNDONE events that may run now, in the order they should run.

    An event waits for the earlier-phase events of its own lease (start, before-end,
    end), and a start waits while any end event scheduled no later than it is still
    open, so hosts are given back before they are handed out again. That second rule
    needs only the earliest open end (one indexed MIN), not a per-event subquery.
    """
    first_open_end = context.session.execute(_FIRST_OPEN_END).scalar() or _NEVER
    rows = context.session.execute(
        _CLAIMABLE, {'now': now, 'first_open_end': first_open_end, 'limit': limit}).all()
    return sorted(rows, key=lambda row: (row.time, _PHASE.get(row.event_type, 3)))


@db_api.reader
def stale(context, now, timeout, limit):
    """IN_PROGRESS events whose owner has not heart-beaten for ``timeout``."""
    cutoff = now - timeout
    query = (sa.select(models.Event.id, models.Event.claimed_at)
             .where(models.Event.status == E.IN_PROGRESS,
                    models.Event.claimed_at < cutoff)
             .order_by(models.Event.time).limit(limit))
    return context.session.execute(query).all()


@db_api.reader
def next_wake(context, timeout):
    """The earliest moment something may become runnable: a due time or a claim expiry."""
    due = context.session.execute(
        sa.select(sa.func.min(models.Event.due_at)).where(models.Event.status == E.UNDONE)
    ).scalar()
    oldest_claim = context.session.execute(
        sa.select(sa.func.min(models.Event.claimed_at))
        .where(models.Event.status == E.IN_PROGRESS)).scalar()
    candidates = [t for t in (due, oldest_claim and oldest_claim + timeout) if t]
    return min(candidates) if candidates else None


def _claim(context, where, owner, now, extra=None):
    values = dict(status=E.IN_PROGRESS, owner=owner, claimed_at=now,
                  attempts=models.Event.attempts + 1)
    values.update(extra or {})
    result = context.session.execute(
        sa.update(models.Event).where(*where).values(**values)
        .execution_options(synchronize_session=False))
    return result.rowcount


@db_api.writer
def claim(context, event_ids, owner, now):
    """Take UNDONE events in one UPDATE; return the ids this manager now owns.

    Rows another manager claimed first no longer match ``status = 'UNDONE'`` (the
    UPDATE waits for its row locks and re-checks), so each id goes to exactly one.
    """
    if not event_ids:
        return []
    ids = list(event_ids)
    _claim(context, (models.Event.id.in_(ids), models.Event.status == E.UNDONE),
           owner, now)
    owned = context.session.execute(
        sa.select(models.Event.id).where(models.Event.id.in_(ids),
                                         models.Event.owner == owner,
                                         models.Event.status == E.IN_PROGRESS,
                                         models.Event.claimed_at == now)).scalars()
    return list(owned)


@db_api.writer
def take_over(context, event_id, stale_claimed_at, owner, now):
    """Take an abandoned IN_PROGRESS event, conditioned on the stale heart-beat seen."""
    return _claim(context, (models.Event.id == event_id,
                            models.Event.status == E.IN_PROGRESS,
                            models.Event.claimed_at == stale_claimed_at),
                  owner, now) == 1


@db_api.writer
def heartbeat(context, owner, now, event_ids):
    if not event_ids:
        return 0
    return context.session.execute(
        sa.update(models.Event)
        .where(models.Event.owner == owner, models.Event.status == E.IN_PROGRESS,
               models.Event.id.in_(list(event_ids)))
        .values(claimed_at=now).execution_options(synchronize_session=False)).rowcount


_FINISH = (sa.update(models.Event)
           .where(models.Event.id == sa.bindparam('event_id'),
                  models.Event.owner == sa.bindparam('b_owner'),
                  models.Event.status == E.IN_PROGRESS)
           .values(status=sa.bindparam('b_status'), error=sa.bindparam('b_error'))
           .execution_options(synchronize_session=False))


@db_api.writer
def finish(context, event_id, owner, status, error=None, due_at=None):
    """Record the outcome of an owned event; False if the claim was lost meanwhile."""
    states.check('event', event_id, E.IN_PROGRESS, status)
    if status == E.UNDONE:
        statement = _FINISH.values(owner=None, claimed_at=None, due_at=due_at)
    else:
        statement = _FINISH
    result = context.session.execute(statement, {
        'event_id': event_id, 'b_owner': owner, 'b_status': status, 'b_error': error})
    return result.rowcount == 1


@db_api.reader
def get(context, event_id):
    return context.session.get(models.Event, event_id)
