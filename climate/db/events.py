"""The event queue: due events, their claim by one manager, heartbeats and results.

Ownership is taken with a conditional UPDATE (``... WHERE id = :id AND status =
'UNDONE'``): whichever manager's UPDATE changes the row owns the event, on every
backend and at its default isolation level.

Each manager also keeps a liveness row in ``managers``, heart-beaten every second or
so. The claims of an owner whose row is missing (it stopped cleanly) or silent for
``liveness_timeout`` (it died) are taken over at once, however recent their
``claimed_at``; the claims of a live owner are not, however long their events run.
A claim the live owner no longer heart-beats (``claimed_at`` older than
``claim_timeout``: it lost track of it) is taken over too. The take-over is the same
conditional UPDATE, conditioned on the stale ``claimed_at`` and, in its WHERE clause,
on the owner still being dead.
"""

import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from climate.common import states
from climate.common import timeutils
from climate.db import api as db_api
from climate.db import models

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


def _param(name, values):
    return sa.bindparam(name) if values is None else sa.bindparam(name, values[name])


def _owner_is_live(values=None):
    """Correlated to the events row: its owner's liveness row is fresh."""
    return (sa.select(models.Manager.owner)
            .where(models.Manager.owner == models.Event.owner,
                   models.Manager.heartbeat_at >= _param('live_cutoff', values))
            .exists())


def _abandoned(values=None):
    """An IN_PROGRESS claim that another manager may take: its owner is dead (and is
    not the caller ``me``), or the owner stopped heart-beating the claim itself.
    ``values`` binds the parameters; without, they are given at execution."""
    return sa.and_(
        models.Event.status == E.IN_PROGRESS,
        sa.or_(sa.and_(models.Event.owner != _param('me', values),
                       ~_owner_is_live(values)),
               models.Event.claimed_at < _param('claim_cutoff', values)))


def _stale_query():
    # An alias: joining models.Manager itself would correlate _owner_is_live to it.
    manager = orm.aliased(models.Manager)
    return (sa.select(models.Event.id, models.Event.claimed_at, models.Event.owner,
                      manager.host, manager.pid)
            .outerjoin(manager, manager.owner == models.Event.owner)
            .where(_abandoned())
            .order_by(models.Event.time).limit(sa.bindparam('limit')))


_STALE = _stale_query()


def _cutoffs(now, liveness_timeout, claim_timeout):
    return {'live_cutoff': now - liveness_timeout, 'claim_cutoff': now - claim_timeout}


@db_api.reader
def stale(context, owner, now, liveness_timeout, claim_timeout, limit):
    """IN_PROGRESS events another manager may take over (see the module docstring):
    rows of (id, claimed_at, owner, host, pid), host and pid from the owner's liveness
    row if it has one. ``owner`` is the caller, whose own claims are only stale after
    ``claim_timeout``.
    """
    params = _cutoffs(now, liveness_timeout, claim_timeout)
    params.update(me=owner, limit=limit)
    return context.session.execute(_STALE, params).all()


# next_wake's statements, built once (as every statement run per dispatch or per
# event: building one costs more CPU than running it).
_FIRST_DUE = sa.select(sa.func.min(models.Event.due_at)).where(
    models.Event.status == E.UNDONE)
_OLDEST_CLAIM = sa.select(sa.func.min(models.Event.claimed_at)).where(
    models.Event.status == E.IN_PROGRESS)
_OTHERS = (models.Event.status == E.IN_PROGRESS,
           models.Event.owner != sa.bindparam('b_owner'))
_OLDEST_BEAT = (sa.select(sa.func.min(models.Manager.heartbeat_at))
                .join(models.Event, models.Event.owner == models.Manager.owner)
                .where(*_OTHERS))
_ORPHANED = sa.select(models.Event.id).where(
    *_OTHERS, ~sa.select(models.Manager.owner)
    .where(models.Manager.owner == models.Event.owner).exists()).limit(1)


@db_api.reader
def next_wake(context, owner, liveness_timeout, claim_timeout):
    """The earliest moment something may become runnable: a due time, a claim expiry,
    or the moment a manager holding claims is taken for dead if it stays silent."""
    session = context.session
    due = session.execute(_FIRST_DUE).scalar()
    oldest_claim = session.execute(_OLDEST_CLAIM).scalar()
    oldest_beat = session.execute(_OLDEST_BEAT, {'b_owner': owner}).scalar()
    candidates = [t for t in (due, oldest_claim and oldest_claim + claim_timeout,
                              oldest_beat and oldest_beat + liveness_timeout) if t]
    orphaned = session.execute(_ORPHANED, {'b_owner': owner}).first()
    if orphaned:
        candidates.append(timeutils.utcnow())
    return min(candidates) if candidates else None


def _claimed(owner, now):
    """What a claim writes on an event (values, or bind parameters)."""
    return dict(status=E.IN_PROGRESS, owner=owner, claimed_at=now,
                attempts=models.Event.attempts + 1)


def _claim(context, where, owner, now):
    result = context.session.execute(
        sa.update(models.Event).where(*where).values(**_claimed(owner, now))
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
    params = {'event_ids': list(event_ids), 'b_owner': owner, 'b_now': now}
    context.session.execute(_CLAIM_UNDONE, params)
    return list(context.session.execute(_OWNED, params).scalars())


_IDS = sa.bindparam('event_ids', expanding=True)
_CLAIM_UNDONE = (sa.update(models.Event)
                 .where(models.Event.id.in_(_IDS), models.Event.status == E.UNDONE)
                 .values(**_claimed(sa.bindparam('b_owner'), sa.bindparam('b_now')))
                 .execution_options(synchronize_session=False))
_OWNED = sa.select(models.Event.id).where(
    models.Event.id.in_(_IDS), models.Event.owner == sa.bindparam('b_owner'),
    models.Event.status == E.IN_PROGRESS,
    models.Event.claimed_at == sa.bindparam('b_now'))


@db_api.writer
def take_over(context, event_id, stale_claimed_at, owner, now, liveness_timeout,
              claim_timeout):
    """Take an abandoned IN_PROGRESS event, conditioned on the stale heart-beat seen
    and on its owner still being dead (or the claim still stale) at this moment."""
    values = dict(_cutoffs(now, liveness_timeout, claim_timeout), me=owner)
    return _claim(context, (models.Event.id == event_id,
                            models.Event.claimed_at == stale_claimed_at,
                            _abandoned(values)),
                  owner, now) == 1


def _locked_now(context):
    """The time, read once the transaction has begun: on SQLite that is after the
    write lock was obtained, so a beat that queued for it is not already stale."""
    context.session.connection()
    return timeutils.utcnow()


@db_api.writer
def heartbeat(context, owner, now, event_ids):
    """Heart-beat the claims of running events (``now`` None: once the transaction
    has begun, see ``_locked_now``)."""
    if not event_ids:
        return 0
    now = now or _locked_now(context)
    return context.session.execute(_HEARTBEAT, {
        'b_owner': owner, 'b_now': now, 'event_ids': list(event_ids)}).rowcount


_HEARTBEAT = (sa.update(models.Event)
              .where(models.Event.owner == sa.bindparam('b_owner'),
                     models.Event.status == E.IN_PROGRESS, models.Event.id.in_(_IDS))
              .values(claimed_at=sa.bindparam('b_now'))
              .execution_options(synchronize_session=False))


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


_TE = models.Event.__table__
_FINISH_MANY = (sa.update(_TE)
                .where(_TE.c.id.in_(sa.bindparam('event_ids', expanding=True)),
                       _TE.c.owner == sa.bindparam('b_owner'),
                       _TE.c.status == E.IN_PROGRESS)
                .values(status=sa.bindparam('b_status'), error=None))


@db_api.writer
def finish_many(context, event_ids, owner, status):
    """:func:`finish` for several owned events in one UPDATE; returns how many were
    still this owner's (fewer than asked: a claim was lost meanwhile)."""
    states.check('event', None, E.IN_PROGRESS, status)
    if not event_ids:
        return 0
    return context.session.execute(_FINISH_MANY, {
        'event_ids': list(event_ids), 'b_owner': owner, 'b_status': status}).rowcount


@db_api.reader
def get(context, event_id):
    return context.session.get(models.Event, event_id)


# Liveness rows -----------------------------------------------------------------------
@db_api.writer
def register_manager(context, owner, host, pid, now=None):
    now = now or _locked_now(context)
    context.session.execute(sa.insert(models.Manager).values(
        owner=owner, host=host, pid=pid, started_at=now, heartbeat_at=now))


@db_api.writer
def beat(context, owner, now=None):
    """Heart-beat a liveness row; False when it is gone (deleted as long dead)."""
    now = now or _locked_now(context)
    return context.session.execute(_BEAT, {'b_owner': owner, 'b_now': now}).rowcount == 1


_BEAT = (sa.update(models.Manager).where(models.Manager.owner == sa.bindparam('b_owner'))
         .values(heartbeat_at=sa.bindparam('b_now'))
         .execution_options(synchronize_session=False))


_LIVE = sa.select(sa.func.count()).select_from(models.Manager).where(
    models.Manager.heartbeat_at >= sa.bindparam('b_since'))


@db_api.reader
def live_managers(context, since):
    """How many managers heart-beat their liveness row since ``since``."""
    return context.session.execute(_LIVE, {'b_since': since}).scalar()


@db_api.writer
def unregister_manager(context, owner):
    """A clean stop: the claims still held, if any, may be taken over at once."""
    context.session.execute(
        sa.delete(models.Manager).where(models.Manager.owner == owner)
        .execution_options(synchronize_session=False))


@db_api.writer
def forget_dead_managers(context, silent_since):
    """Delete the rows of managers silent since ``silent_since`` (killed ones); a
    missing row means dead as much as a stale one does."""
    return context.session.execute(
        sa.delete(models.Manager).where(models.Manager.heartbeat_at < silent_since)
        .execution_options(synchronize_session=False)).rowcount


@db_api.reader
def managers(context):
    return context.session.execute(
        sa.select(models.Manager).order_by(models.Manager.started_at)).scalars().all()
