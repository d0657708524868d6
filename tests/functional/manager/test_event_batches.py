"""Starts and before-ends due together run in batches ([manager] event_batch_size):
every lease still starts exactly once, a failing start costs only itself, and anything
a batch cannot handle goes the one-event way."""

import collections

from climate import context as climate_context
from climate.common import timeutils
from climate.db import events as event_db
from climate.manager import engine as engine_mod
from climate.plugins import dummy
from tests.functional.manager.conftest import lease_body
from tests.functional.manager.conftest import soon
from tests.functional.manager.conftest import wait_for


def _status(service, ctx, lease_id):
    return service.get_lease(ctx, lease_id)['status']


def _starts_done(service):
    return collections.Counter(
        e['lease_id'] for e in dummy.read_journal(service.conf.dummy_plugin.journal)
        if e['action'] == 'on_start' and e['phase'] == 'done')


def _record_batches(service, monkeypatch, batches=None):
    """The sizes of the batches run (and their event ids into ``batches``)."""
    sizes = []
    batches = [] if batches is None else batches
    real = service.run_batch

    def recording(context, event_ids, finish_all):
        sizes.append(len(event_ids))
        batches.append(list(event_ids))
        return real(context, event_ids, finish_all)
    monkeypatch.setattr(service, 'run_batch', recording)
    return sizes


def _workers(manager_conf, workers, batch):
    manager_conf.set_override('event_workers', workers, group='manager')
    manager_conf.set_override('event_batch_size', batch, group='manager')


def _starting_together(service, ctx, count, reservations=1):
    """The ids of ``count`` one-hour leases that all start in 1.5 s."""
    start = soon(1.5)
    return [service.create_lease(ctx, lease_body(start, soon(3600),
                                                 reservations=reservations))['id']
            for _ in range(count)]


def _notified_once(sent_notifications, event_type, leases):
    """One ``event_type`` notification per lease, as for events run one by one."""
    wait_for(lambda: collections.Counter(
        n['payload']['lease_id'] for n in sent_notifications
        if n['event_type'] == event_type) == {i: 1 for i in leases}, timeout=5)


def _run_engine(service, manager_conf, until):
    engine = engine_mod.EventEngine(manager_conf, service)
    engine.start()
    try:
        wait_for(until, timeout=30)
    finally:
        engine.stop()


def test_leases_starting_together_start_in_batches_each_once(
        service, ctx, manager_conf, sent_notifications, monkeypatch):
    _workers(manager_conf, 2, batch=4)
    sizes = _record_batches(service, monkeypatch)
    leases = _starting_together(service, ctx, 12, reservations=2)
    _run_engine(service, manager_conf,
                lambda: all(_status(service, ctx, i) == 'ACTIVE' for i in leases))
    assert sizes and max(sizes) > 1, sizes
    starts = _starts_done(service)
    assert set(starts) == set(leases) and set(starts.values()) == {2}  # 2 reservations
    for lease_id in leases:
        shown = service.get_lease(ctx, lease_id)
        assert [r['status'] for r in shown['reservations']] == ['active', 'active']
        assert {e['event_type']: e['status'] for e in shown['events']}['start_lease'] \
            == 'DONE'
    _notified_once(sent_notifications, 'lease.event.start_lease', leases)
    # Each payload is its own lease's view as committed, though read for the batch.
    for sent in sent_notifications:
        if sent['event_type'] == 'lease.event.start_lease':
            payload = sent['payload']
            assert payload['status'] == 'ACTIVE'
            assert [r['lease_id'] for r in payload['reservations']] == \
                [payload['lease_id']] * 2
            assert [r['status'] for r in payload['reservations']] == ['active'] * 2


def test_before_ends_due_together_run_in_batches_each_once(
        service, ctx, manager_conf, sent_notifications, monkeypatch):
    _workers(manager_conf, 1, batch=4)
    batches = []
    _record_batches(service, monkeypatch, batches)
    # One-hour leases with the default 60-minute before-end: due at the start, so
    # each lease's before-end follows its start at once.
    leases = _starting_together(service, ctx, 6)
    admin = climate_context.admin_context()

    def before_ends_done():
        return all(e['status'] == 'DONE' for i in leases
                   for e in service.get_lease(admin, i)['events']
                   if e['event_type'] == 'before_end_lease')
    _run_engine(service, manager_conf, before_ends_done)
    journal = dummy.read_journal(service.conf.dummy_plugin.journal)
    before_ends = collections.Counter(e['lease_id'] for e in journal
                                      if e['action'] == 'before_end'
                                      and e['phase'] == 'done')
    assert before_ends == {i: 1 for i in leases}
    types = [[event_db.get(admin, i).event_type for i in ids] for ids in batches]
    assert ['before_end_lease'] * 2 in [kinds[:2] for kinds in types], types
    assert [_status(service, ctx, i) for i in leases] == ['ACTIVE'] * 6
    _notified_once(sent_notifications, 'lease.event.before_end_lease', leases)


def test_a_failing_start_in_a_batch_is_retried_alone_and_the_rest_start_once(
        service, ctx, manager_conf, monkeypatch):
    _workers(manager_conf, 2, batch=8)
    batches = []
    _record_batches(service, monkeypatch, batches)
    leases = _starting_together(service, ctx, 5)
    unlucky = leases[2]
    unlucky_start = [e['id'] for e in service.get_lease(ctx, unlucky)['events']
                     if e['event_type'] == 'start_lease'][0]
    plugin = service.plugins['dummy:resource']
    real_on_start, failures = plugin.on_start, []

    def on_start(context, lease, reservation):
        if lease['id'] == unlucky and not failures:
            failures.append(lease['id'])
            raise dummy.TransientFailure(action='on_start', attempt=1)
        return real_on_start(context, lease, reservation)
    monkeypatch.setattr(plugin, 'on_start', on_start)
    _run_engine(service, manager_conf,
                lambda: all(_status(service, ctx, i) == 'ACTIVE' for i in leases))
    assert failures == [unlucky]
    # It failed inside a batch, and went again on its own.
    assert [len(ids) > 1 for ids in batches if unlucky_start in ids] == [True], batches
    assert _starts_done(service) == {i: 1 for i in leases}
    event = [e for e in service.get_lease(ctx, unlucky)['events']
             if e['event_type'] == 'start_lease'][0]
    assert event['status'] == 'DONE'


def _claimed_starts(service, leases, owner):
    admin = climate_context.admin_context()
    ids = [e['id'] for i in leases for e in service.get_lease(admin, i)['events']
           if e['event_type'] == 'start_lease']
    assert sorted(event_db.claim(admin, ids, owner, timeutils.utcnow())) == sorted(ids)
    return ids


def test_a_lost_claim_records_nothing_of_the_batch(service, ctx):
    leases = [service.create_lease(ctx, lease_body(soon(3600), soon(7200)))['id']
              for _ in range(3)]
    ids = _claimed_starts(service, leases, 'me')
    admin = climate_context.admin_context()
    failed, alone = service.run_batch(admin, ids, lambda context, ids: False)
    assert failed == {} and sorted(alone) == sorted(ids)
    for lease_id in leases:
        shown = service.get_lease(ctx, lease_id)
        # Entered (as a single start's first step commits), nothing settled.
        assert shown['status'] == 'STARTING'
        assert shown['reservations'][0]['status'] == 'pending'
    assert {e.status for e in map(lambda i: event_db.get(admin, i), ids)} == \
        {'IN_PROGRESS'}
    # The one-event path then finishes them.
    for event_id in alone:
        service.run_event(admin, event_id)
    assert [_status(service, ctx, i) for i in leases] == ['ACTIVE'] * 3


def test_a_lease_that_is_not_pending_is_left_to_the_one_event_path(service, ctx):
    leases = [service.create_lease(ctx, lease_body(soon(3600), soon(7200)))['id']
              for _ in range(3)]
    ids = _claimed_starts(service, leases, 'me')
    admin = climate_context.admin_context()
    service.run_event(admin, ids[0])  # already started by the time the batch runs
    finished = []

    def finish_all(context, event_ids):
        finished.extend(event_ids)
        return event_db.finish_many(context, event_ids, 'me', 'DONE') == len(event_ids)
    failed, alone = service.run_batch(admin, ids, finish_all)
    assert failed == {} and alone == [ids[0]] and sorted(finished) == sorted(ids[1:])
    assert [_status(service, ctx, i) for i in leases] == ['ACTIVE'] * 3
    assert _starts_done(service) == {i: 1 for i in leases}
