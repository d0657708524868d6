"""Liveness rows: which claims another manager may take over, and the engine's row.

A claim is taken over at once when its owner's liveness row is silent for
``liveness_timeout`` or missing, never while the owner heart-beats it (however old
the claim), and, as a backstop, when the live owner stopped heart-beating the claim
itself for ``claim_timeout``.
"""

import datetime

import sqlalchemy as sa

from climate.common import timeutils
from climate.db import api as db_api
from climate.db import events as event_db
from climate.db import models
from climate.manager import engine as engine_mod
from tests.functional.manager.conftest import lease_body
from tests.functional.manager.conftest import wait_for

LIVENESS = datetime.timedelta(seconds=3)
CLAIM = datetime.timedelta(seconds=60)


def _claimed_start(service, ctx, owner, now):
    lease = service.create_lease(ctx, lease_body('2099-01-01 10:00', '2099-01-01 11:00'))
    event_id = next(e['id'] for e in lease['events'] if e['event_type'] == 'start_lease')
    table = models.Event.__table__
    with db_api.get_engine().begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == event_id).values(
            status='IN_PROGRESS', owner=owner, claimed_at=now))
    return event_id


def _stale_ids(ctx, me, now):
    return [row.id for row in event_db.stale(ctx, me, now, LIVENESS, CLAIM, 10)]


def _set_beat(owner, when):
    table = models.Manager.__table__
    with db_api.get_engine().begin() as conn:
        conn.execute(sa.update(table).where(table.c.owner == owner)
                     .values(heartbeat_at=when))


def test_live_managers_counts_the_rows_beaten_since(service, ctx):
    now = timeutils.utcnow()
    for owner, silent in (('a', 0), ('b', 2), ('c', 4)):
        event_db.register_manager(ctx, owner, 'host', 1,
                                  now - datetime.timedelta(seconds=silent))
    assert event_db.live_managers(ctx, now - LIVENESS) == 2
    event_db.unregister_manager(ctx, 'a')
    assert event_db.live_managers(ctx, now - LIVENESS) == 1


def test_claims_are_stale_when_the_owner_is_silent_or_gone(service, ctx):
    now = timeutils.utcnow()
    event_id = _claimed_start(service, ctx, 'a', now)
    event_db.register_manager(ctx, 'a', 'host-a', 1, now)
    assert _stale_ids(ctx, 'b', now) == []
    # Silent for less than liveness_timeout: still alive.
    _set_beat('a', now - datetime.timedelta(seconds=2))
    assert _stale_ids(ctx, 'b', now) == []
    _set_beat('a', now - datetime.timedelta(seconds=4))
    assert _stale_ids(ctx, 'b', now) == [event_id]
    # Never by the owner itself on its liveness alone (it runs the event).
    assert _stale_ids(ctx, 'a', now) == []
    event_db.unregister_manager(ctx, 'a')
    assert _stale_ids(ctx, 'b', now) == [event_id]
    assert event_db.take_over(ctx, event_id, now, 'b', now, LIVENESS, CLAIM)
    assert event_db.get(ctx, event_id).owner == 'b'


def test_a_live_owner_keeps_a_claim_of_any_age_but_for_the_backstop(service, ctx):
    now = timeutils.utcnow()
    claimed = now - datetime.timedelta(seconds=30)
    event_id = _claimed_start(service, ctx, 'a', claimed)
    event_db.register_manager(ctx, 'a', 'host-a', 1, now)
    assert _stale_ids(ctx, 'b', now) == []
    assert not event_db.take_over(ctx, event_id, claimed, 'b', now, LIVENESS, CLAIM)
    # Not heart-beaten for claim_timeout: the live owner lost track of it.
    later = claimed + CLAIM + datetime.timedelta(seconds=1)
    event_db.beat(ctx, 'a', later)
    assert _stale_ids(ctx, 'b', later) == [event_id]
    assert _stale_ids(ctx, 'a', later) == [event_id]


def test_take_over_is_refused_when_the_owner_beat_again_meanwhile(service, ctx):
    now = timeutils.utcnow()
    event_id = _claimed_start(service, ctx, 'a', now)
    event_db.register_manager(ctx, 'a', 'host-a', 1, now - datetime.timedelta(seconds=5))
    later = now + datetime.timedelta(seconds=1)
    assert _stale_ids(ctx, 'b', later) == [event_id]
    event_db.beat(ctx, 'a', later)  # starved, not dead: it beat before the UPDATE
    assert not event_db.take_over(ctx, event_id, now, 'b', later, LIVENESS, CLAIM)
    assert event_db.get(ctx, event_id).owner == 'a'


def test_next_wake_is_when_a_silent_claim_holder_would_be_dead(service, ctx):
    now = timeutils.utcnow()
    _claimed_start(service, ctx, 'a', now)
    beat = now - datetime.timedelta(seconds=1)
    event_db.register_manager(ctx, 'a', 'host-a', 1, beat)
    assert event_db.next_wake(ctx, 'b', LIVENESS, CLAIM) == beat + LIVENESS
    event_db.unregister_manager(ctx, 'a')
    assert event_db.next_wake(ctx, 'b', LIVENESS, CLAIM) <= timeutils.utcnow()


def test_engine_heart_beats_its_row_and_deletes_it_on_stop(service, ctx, manager_conf):
    manager_conf.set_override('liveness_interval', 0.2, group='manager')
    engine = engine_mod.EventEngine(manager_conf, service)
    engine.start()
    try:
        first = wait_for(lambda: {m.owner: m.heartbeat_at
                                  for m in event_db.managers(ctx)}.get(engine.owner))
        wait_for(lambda: next(m.heartbeat_at for m in event_db.managers(ctx)
                              if m.owner == engine.owner) > first, timeout=5)
    finally:
        engine.stop()
    assert [m.owner for m in event_db.managers(ctx)] == []
