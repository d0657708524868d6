"""Real ``climate-manager`` processes sharing one database and RabbitMQ.

Proves the multi-manager guarantees end to end: every event runs once however many
managers compete, a manager killed mid-event is replaced within seconds (its liveness
row falls silent), and errors raised in a manager reach the RPC caller as the same
exception.
"""

import collections
import concurrent.futures
import datetime
import os
import signal

import pytest
import sqlalchemy as sa

from climate import exceptions
from climate.common import timeutils
from climate.db import models
from tests.functional.manager.conftest import lease_body
from tests.functional.manager.conftest import wait_for
from tests.manager_processes import Managers


@pytest.fixture
def managers(database, rabbit_url, tmp_path):
    created = []

    def make(manager_options=None, **dummy_options):
        group = Managers(database, rabbit_url, tmp_path, manager_options,
                         **dummy_options)
        created.append(group)
        return group
    yield make
    for group in created:
        group.stop()


def test_two_managers_start_200_simultaneous_leases_exactly_once(managers, database):
    group = managers()
    group.start(2)
    later = timeutils.utcnow() + datetime.timedelta(days=1)
    body = lease_body(later, later + datetime.timedelta(hours=1))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        lease_ids = list(pool.map(lambda _: group.api.create_lease(group.ctx, body)['id'],
                                  range(200)))
    # However long creating them took, make all 200 fall due in the same second.
    start = (timeutils.utcnow() + datetime.timedelta(seconds=3)).replace(microsecond=0)
    events = models.Event.__table__
    with database.engine.begin() as conn:
        moved = conn.execute(sa.update(events)
                             .where(events.c.event_type == 'start_lease')
                             .values(time=start, due_at=start)).rowcount
    assert moved == 200
    wait_for(lambda: set(group.statuses(lease_ids).values()) == {'ACTIVE'}, timeout=90,
             interval=0.5)
    journal = group.journal_entries()
    begun = collections.Counter(e['lease_id'] for e in journal
                                if e['action'] == 'on_start' and e['phase'] == 'begin')
    finished = collections.Counter(e['lease_id'] for e in journal
                                   if e['action'] == 'on_start' and e['phase'] == 'done')
    assert set(finished) == set(lease_ids)
    assert set(begun.values()) == {1} and set(finished.values()) == {1}


def test_killed_manager_event_is_taken_over_and_runs_once(managers):
    group = managers(action_delay=4)
    group.start(2)
    lease_id = group.api.create_lease(group.ctx, lease_body(
        'now', timeutils.utcnow() + datetime.timedelta(hours=1)))['id']
    begin = wait_for(lambda: [e for e in group.journal_entries()
                              if e['action'] == 'on_start' and e['phase'] == 'begin'])
    victim = begin[0]['pid']
    os.kill(victim, signal.SIGKILL)
    # The survivor takes the event over once the victim's liveness row is silent for
    # liveness_timeout, and finishes it.
    wait_for(lambda: group.statuses([lease_id]).get(lease_id) == 'ACTIVE', timeout=40,
             interval=0.5)
    journal = [e for e in group.journal_entries() if e['action'] == 'on_start']
    done = [e for e in journal if e['phase'] == 'done']
    assert len(done) == 1 and done[0]['pid'] != victim
    assert [e['pid'] for e in journal if e['phase'] == 'begin'] == [victim, done[0]['pid']]


def _owners_pid(owner):
    return int(owner.split(':')[-2])


def test_manager_killed_during_a_mass_start_is_replaced_in_seconds(managers, database):
    """40 leases start together on 2 managers; one is SIGKILLed while it holds claims.
    With claim_timeout at its default (60 s), every lease is still ACTIVE within a few
    seconds of its start, and each start is done exactly once."""
    count = 40
    group = managers({'claim_timeout': 60, 'max_poll_interval': 30},
                     action_delays='on_start:1.5')
    group.start(2)
    later = timeutils.utcnow() + datetime.timedelta(days=1)
    body = lease_body(later, later + datetime.timedelta(hours=1))
    lease_ids = [group.api.create_lease(group.ctx, body)['id'] for _ in range(count)]
    start = (timeutils.utcnow() + datetime.timedelta(seconds=2)).replace(microsecond=0)
    events = models.Event.__table__
    with database.engine.begin() as conn:
        conn.execute(sa.update(events).where(events.c.event_type == 'start_lease')
                     .values(time=start, due_at=start))
    group.api.wake(group.ctx)  # they sleep up to max_poll_interval otherwise

    def claims():
        with database.engine.connect() as conn:
            return conn.execute(sa.select(events.c.owner)
                                .where(events.c.status == 'IN_PROGRESS')).scalars().all()
    owners = wait_for(claims, timeout=30, interval=0.02)
    victim = _owners_pid(owners[0])
    os.kill(victim, signal.SIGKILL)
    killed_at = timeutils.utcnow()
    held = sum(1 for owner in claims() if _owners_pid(owner) == victim)
    assert held >= 1

    wait_for(lambda: set(group.statuses(lease_ids).values()) == {'ACTIVE'}, timeout=50,
             interval=0.2)
    leases = models.Lease.__table__
    with database.engine.connect() as conn:
        became_active = conn.execute(sa.select(sa.func.max(leases.c.updated_at))
                                     .where(leases.c.id.in_(lease_ids))).scalar()
    # The start events were moved to ``start``; the leases' start_date was not.
    late = (became_active - start).total_seconds()
    print(f'killed holding {held} claims; latest start {late:.2f}s late')
    # Detection takes liveness_timeout (3 s) and the re-run 1.5 s: 15 s leaves room
    # for a loaded machine and is far below the 60 s claim_timeout it used to take.
    assert late < 15, (late, held, killed_at - start)
    journal = [e for e in group.journal_entries() if e['action'] == 'on_start']
    done = collections.Counter(e['lease_id'] for e in journal if e['phase'] == 'done')
    assert set(done) == set(lease_ids) and set(done.values()) == {1}
    assert not [e for e in journal if e['pid'] == victim and e['phase'] == 'done']
    # Each start the victim had begun (it may have been killed before beginning any of
    # its claims) was begun once more by the survivor, no other.
    begun = collections.Counter(e['lease_id'] for e in journal if e['phase'] == 'begin')
    by_victim = {e['lease_id'] for e in journal
                 if e['pid'] == victim and e['phase'] == 'begin'}
    assert {i for i, n in begun.items() if n > 1} == by_victim
    assert set(begun.values()) <= {1, 2}


def test_errors_reach_the_caller_as_the_same_exception(managers):
    group = managers()
    group.start(1)
    with pytest.raises(exceptions.InvalidDate) as err:
        group.api.create_lease(group.ctx, lease_body('soon', '2099-01-01 00:00'))
    assert err.value.message.startswith('soon is an invalid date.')
    assert err.value.code == 400
    with pytest.raises(exceptions.LeaseNotFound) as err:
        group.api.get_lease(group.ctx, 'missing')
    assert err.value.message == 'Lease missing not found' and err.value.code == 404
    lease = group.api.create_lease(group.ctx, lease_body('2099-01-01 10:00',
                                                         '2099-01-01 11:00'))
    assert group.api.get_lease(group.ctx, lease['id'])['status'] == 'PENDING'
    group.api.delete_lease(group.ctx, lease['id'])
    assert group.api.list_leases(group.ctx) == []
