"""The event engine in this process: on time, in order, retried, exactly once."""

import collections
import datetime
import time

from climate.common import timeutils
from climate.db import api as db_api
from climate.db import events as event_db
from climate.db import leases as lease_db
from climate.manager import engine as engine_mod
from climate.plugins import dummy
from tests.functional.manager.conftest import lease_body
from tests.functional.manager.conftest import soon
from tests.functional.manager.conftest import wait_for


def status_of(service, ctx, lease_id):
    return service.get_lease(ctx, lease_id)['status']


def done(service, action):
    return [e for e in dummy.read_journal(service.conf.dummy_plugin.journal)
            if e['action'] == action and e['phase'] == 'done']


def test_lease_starts_within_a_second_and_ends_on_time(service, engine, ctx,
                                                       sent_notifications):
    start = soon(1.5)
    lease = service.create_lease(ctx, lease_body(start, start + datetime.timedelta(
        seconds=2), before_end_date=(start + datetime.timedelta(seconds=1)).isoformat()))
    wait_for(lambda: status_of(service, ctx, lease['id']) == 'ACTIVE')
    late = timeutils.utcnow() - start
    assert late < datetime.timedelta(seconds=1), f'started {late} late'
    wait_for(lambda: status_of(service, ctx, lease['id']) == 'TERMINATED')
    shown = service.get_lease(ctx, lease['id'])
    assert {e['event_type']: e['status'] for e in shown['events']} == {
        'start_lease': 'DONE', 'before_end_lease': 'DONE', 'end_lease': 'DONE'}
    assert shown['reservations'][0]['status'] == 'deleted'
    assert [e['action'] for e in dummy.read_journal(service.conf.dummy_plugin.journal)
            if e['phase'] == 'done'][-3:] == ['on_start', 'before_end', 'on_end']
    # Each notification is sent after its event's transaction commits.
    expected = ['lease.event.start_lease', 'lease.event.before_end_lease',
                'lease.event.end_lease']
    wait_for(lambda: [n['event_type'] for n in sent_notifications][-3:] == expected,
             timeout=5)


def test_engine_sleeps_until_woken_not_on_a_tick(service, engine, ctx, manager_conf):
    manager_conf.set_override('max_poll_interval', 30, group='manager')
    time.sleep(0.3)  # let the engine go to sleep with nothing due
    lease = service.create_lease(ctx, lease_body('now', soon(3600)))
    # Creation wakes the engine: the start runs long before a 30 s poll.
    wait_for(lambda: status_of(service, ctx, lease['id']) == 'ACTIVE', timeout=10)


def test_transient_failure_is_retried_then_succeeds(service, engine, ctx, manager_conf):
    manager_conf.set_override('fail_actions', {'on_start': '2'}, group='dummy_plugin')
    lease = service.create_lease(ctx, lease_body('now', soon(3600)))
    wait_for(lambda: status_of(service, ctx, lease['id']) == 'ACTIVE')
    journal = dummy.read_journal(service.conf.dummy_plugin.journal)
    assert [e['phase'] for e in journal if e['action'] == 'on_start'] == \
        ['begin', 'failed', 'begin', 'failed', 'begin', 'done']
    start_event = [e for e in service.get_lease(ctx, lease['id'])['events']
                   if e['event_type'] == 'start_lease'][0]
    assert start_event['status'] == 'DONE'


def test_permanent_failure_ends_in_error_with_reason(service, engine, ctx, manager_conf):
    manager_conf.set_override('fail_actions', {'on_start': 'always'},
                              group='dummy_plugin')
    lease = service.create_lease(ctx, lease_body('now', soon(3600)))
    wait_for(lambda: status_of(service, ctx, lease['id']) == 'ERROR')
    shown = service.get_lease(ctx, lease['id'])
    assert shown['status_reason'] == \
        'start_lease failed: PermanentFailure: dummy on_start always fails'
    event = [e for e in shown['events'] if e['event_type'] == 'start_lease'][0]
    assert event['status'] == 'ERROR'
    assert 'dummy on_start always fails' in event['error']
    assert shown['reservations'][0]['status'] == 'error'


def test_transient_failure_gives_up_after_max_attempts(service, engine, ctx,
                                                       manager_conf):
    manager_conf.set_override('event_max_attempts', 3, group='manager')
    manager_conf.set_override('fail_actions', {'on_start': '100'}, group='dummy_plugin')
    lease = service.create_lease(ctx, lease_body('now', soon(3600)))
    wait_for(lambda: status_of(service, ctx, lease['id']) == 'ERROR')
    attempts = [e for e in dummy.read_journal(service.conf.dummy_plugin.journal)
                if e['action'] == 'on_start' and e['phase'] == 'begin']
    assert len(attempts) == 3
    assert 'TransientFailure' in service.get_lease(ctx, lease['id'])['status_reason']


def test_an_end_runs_before_a_start_due_at_the_same_time(service, ctx, manager_conf):
    """Back-to-back leases: the first gives its resources back before the next starts."""
    first = service.create_lease(ctx, lease_body('now', soon(3600)))
    boundary = soon(1.0)
    # Make the first lease active and due to end at the boundary ...
    with db_api.writer.using(ctx):
        row = lease_db.get(ctx, first['id'])
        row.status = 'ACTIVE'
        row.reservations[0].status = 'active'
        for event in row.events:
            if event.event_type == 'start_lease':
                event.status = 'DONE'
            else:
                event.time = event.due_at = boundary
    # ... and the second starting exactly then.
    second = service.create_lease(ctx, lease_body(boundary, soon(7200)))
    time.sleep(1.2)
    engine = engine_mod.EventEngine(manager_conf, service)
    engine.start()
    try:
        wait_for(lambda: status_of(service, ctx, second['id']) == 'ACTIVE')
        wait_for(lambda: status_of(service, ctx, first['id']) == 'TERMINATED')
    finally:
        engine.stop()
    journal = dummy.read_journal(service.conf.dummy_plugin.journal)
    order = [(e['action'], e['lease_id']) for e in journal if e['phase'] == 'done'
             and e['action'] in ('on_start', 'on_end')]
    assert order.index(('on_end', first['id'])) < order.index(('on_start', second['id']))


def test_two_engines_run_each_start_exactly_once(service, ctx, manager_conf):
    manager_conf.set_override('event_workers', 4, group='manager')
    start = soon(2)
    leases = [service.create_lease(ctx, lease_body(start, soon(3600)))['id']
              for _ in range(30)]
    engines = [engine_mod.EventEngine(manager_conf, service) for _ in range(2)]
    for engine in engines:
        engine.start()
    try:
        wait_for(lambda: all(status_of(service, ctx, i) == 'ACTIVE' for i in leases),
                 timeout=30)
    finally:
        for engine in engines:
            engine.stop()
    starts = collections.Counter(e['lease_id'] for e in done(service, 'on_start'))
    assert set(starts) == set(leases)
    assert set(starts.values()) == {1}


def _first_claim(service, ctx, manager_conf, monkeypatch, count):
    """``(events in sight, events asked for)`` at the first claim of an engine when
    ``count`` leases start together; waits for all of them to be ACTIVE."""
    manager_conf.set_override('event_workers', 4, group='manager')
    seen, asked = [], []
    claimable, claim = event_db.claimable, event_db.claim

    def seeing(context, now, limit):
        rows = claimable(context, now, limit)
        seen.append(len(rows))
        return rows

    def asking(context, event_ids, owner, now):
        asked.append(len(event_ids))
        return claim(context, event_ids, owner, now)
    monkeypatch.setattr(event_db, 'claimable', seeing)
    monkeypatch.setattr(event_db, 'claim', asking)
    start = soon(1.5)
    leases = [service.create_lease(ctx, lease_body(start, soon(3600)))['id']
              for _ in range(count)]
    engine = engine_mod.EventEngine(manager_conf, service)
    engine.start()
    try:
        wait_for(lambda: all(status_of(service, ctx, i) == 'ACTIVE' for i in leases),
                 timeout=30)
    finally:
        engine.stop()
    assert collections.Counter(e['lease_id'] for e in done(service, 'on_start')) == \
        {i: 1 for i in leases}
    first = next(i for i, n in enumerate(asked) if n)
    return seen[first], asked[first]


def test_a_manager_takes_its_share_of_few_due_events_when_another_is_live(
        service, ctx, manager_conf, monkeypatch):
    # A live peer (its row heart-beaten for the whole test) that claims nothing: the
    # engine's first claim is half of what is due, and it still starts every lease.
    peer_beat = timeutils.utcnow() + datetime.timedelta(minutes=5)
    event_db.register_manager(ctx, 'peer', 'elsewhere', 1, peer_beat)
    try:
        due, asked = _first_claim(service, ctx, manager_conf, monkeypatch, 7)
    finally:
        event_db.unregister_manager(ctx, 'peer')
    assert due >= 7 and asked == -(-due // 2)


def test_a_lone_manager_claims_every_due_event_at_once(service, ctx, manager_conf,
                                                      monkeypatch):
    due, asked = _first_claim(service, ctx, manager_conf, monkeypatch, 7)
    assert due >= 7 and asked == due
