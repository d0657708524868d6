"""Lease create, update and delete through the lease service, on every database."""

import datetime
import threading

import pytest

from climate import exceptions
from climate.common import states
from climate.common import timeutils
from climate.compute import exceptions as compute_exc
from climate.db import api as db_api
from climate.db import leases as lease_db
from climate.plugins import dummy
from tests.functional.manager.conftest import lease_body
from tests.functional.manager.conftest import soon
from tests.functional.manager.conftest import wait_for

HOUR = datetime.timedelta(hours=1)


def journal(service):
    return [(e['action'], e['phase']) for e in
            dummy.read_journal(service.conf.dummy_plugin.journal)]


def events_of(lease):
    return {e['event_type']: e for e in lease['events']}


def force_status(ctx, lease_id, status):
    """Put a lease in a status directly, as if an event had run."""
    with db_api.writer.using(ctx):
        lease_db.get(ctx, lease_id).status = status


# Create ----------------------------------------------------------------------------
def test_create_makes_pending_lease_with_three_events(service, ctx, sent_notifications):
    start = timeutils.utcnow().replace(microsecond=0) + 2 * HOUR
    lease = service.create_lease(ctx, lease_body(start, start + 3 * HOUR, reservations=2))
    assert lease['status'] == 'PENDING'
    assert lease['project_id'] == 'p1' and lease['user_id'] == 'u1'
    assert lease['start_date'] == timeutils.format_date(start)
    events = events_of(lease)
    assert events['start_lease']['time'] == timeutils.format_date(start)
    assert events['end_lease']['time'] == timeutils.format_date(start + 3 * HOUR)
    # Default before-end: [manager] minutes_before_end_lease (60) before the end.
    assert events['before_end_lease']['time'] == timeutils.format_date(start + 2 * HOUR)
    assert {e['status'] for e in lease['events']} == {'UNDONE'}
    assert [r['status'] for r in lease['reservations']] == ['pending', 'pending']
    assert lease['reservations'][0]['dummy'] is True  # plugin details merged in
    assert journal(service).count(('reserve', 'done')) == 2
    assert journal(service).count(('prepare', 'done')) == 2
    assert [n['event_type'] for n in sent_notifications] == ['lease.create']
    assert sent_notifications[0]['payload']['id'] == lease['id']
    assert service.get_lease(ctx, lease['id']) == lease


def test_create_accepts_blazar_dates_and_now(service, ctx):
    before = timeutils.format_date(timeutils.utcnow_minute())
    lease = service.create_lease(ctx, lease_body('now', '2099-01-01 10:00'))
    after = timeutils.format_date(timeutils.utcnow_minute())
    assert lease['end_date'] == '2099-01-01T10:00:00.000000'
    # "now" is the current minute (the create may run across a minute's turn).
    assert lease['start_date'] in (before, after)


def test_before_end_is_clamped_to_start_for_short_leases(service, ctx):
    start = soon(3600)
    lease = service.create_lease(ctx, lease_body(start, start + datetime.timedelta(
        minutes=10)))
    assert events_of(lease)['before_end_lease']['time'] == timeutils.format_date(start)


def test_no_before_end_event_when_disabled(service, ctx, manager_conf):
    manager_conf.set_override('minutes_before_end_lease', 0, group='manager')
    lease = service.create_lease(ctx, lease_body(soon(3600), soon(7200)))
    assert set(events_of(lease)) == {'start_lease', 'end_lease'}


def test_explicit_before_end_date(service, ctx):
    lease = service.create_lease(ctx, lease_body(
        '2099-01-01 10:00', '2099-01-01 12:00', before_end_date='2099-01-01 11:30'))
    assert events_of(lease)['before_end_lease']['time'] == '2099-01-01T11:30:00.000000'


@pytest.mark.parametrize('change, error, message', [
    ({'name': None}, exceptions.MissingParameter, 'Missing parameter name'),
    ({'name': 'x' * 81}, exceptions.InvalidInput, 'longer than 80'),
    ({'end_date': None}, exceptions.MissingParameter, 'Missing parameter end_date'),
    ({'start_date': 'Bogus-date 13:13'}, exceptions.InvalidDate,
     'Bogus-date 13:13 is an invalid date. Required format: %Y-%m-%d %H:%M'),
    ({'start_date': '2000-01-01 00:00'}, exceptions.InvalidInput,
     'Start date must be later than current date'),
    ({'end_date': '2099-01-01 09:00'}, exceptions.InvalidInput,
     'End date must be later than start date.'),
    ({'before_end_date': '2099-01-01 13:00'}, exceptions.NotAuthorized,
     'Datetime is out of lease limits'),
    ({'reservations': [{'resource_type': 'physical:nothing'}]},
     exceptions.UnsupportedResourceType, 'physical:nothing resource type'),
    ({'reservations': [{'min': 1}]}, exceptions.MissingParameter, 'resource_type'),
    ({'reservations': 'all of them'}, exceptions.MalformedParameter, 'reservations'),
])
def test_create_refuses_bad_input_and_stores_nothing(service, ctx, change, error,
                                                     message):
    body = lease_body('2099-01-01 10:00', '2099-01-01 12:00')
    body.update(change)
    with pytest.raises(error) as err:
        service.create_lease(ctx, body)
    assert message in err.value.message
    assert 400 <= err.value.code < 500
    assert service.list_leases(ctx) == []


class HalfFailingPlugin(dummy.DummyPlugin):
    """Prepares the first reservation of a lease, fails on the second."""

    def prepare(self, context, lease, reservation):
        if reservation['id'] != lease['reservations'][0]['id']:
            raise exceptions.NotEnoughHostsAvailable()
        super().prepare(context, lease, reservation)


def test_failed_prepare_rolls_back_rows_and_side_effects(service, ctx, manager_conf):
    service.plugins['dummy:resource'] = HalfFailingPlugin(manager_conf)
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        service.create_lease(ctx, lease_body(soon(3600), soon(7200), reservations=2))
    assert service.list_leases(ctx) == []
    # The reservation that had been prepared was released again.
    assert journal(service).count(('release', 'done')) == 1


# Read ------------------------------------------------------------------------------
def test_list_filters_sorts_and_pages(service, ctx):
    other = type(ctx)(user_id='u2', project_id='p2')
    ids = [service.create_lease(ctx, lease_body(soon(3600 * (i + 1)), soon(36000),
                                                name=f'l{i}'))['id'] for i in range(3)]
    service.create_lease(other, lease_body(soon(3600), soon(7200), name='theirs'))
    mine = service.list_leases(ctx, project_id='p1', sort_key='start_date')
    assert [lease['id'] for lease in mine] == ids
    page1 = service.list_leases(ctx, project_id='p1', sort_key='name', limit=2)
    page2 = service.list_leases(ctx, project_id='p1', sort_key='name', limit=2,
                                marker=page1[-1]['id'])
    assert [lease['name'] for lease in page1 + page2] == ['l0', 'l1', 'l2']
    assert [lease['name'] for lease in service.list_leases(ctx, name='theirs')] == \
        ['theirs']
    assert len(service.list_leases(ctx)) == 4
    with pytest.raises(exceptions.InvalidInput):
        service.list_leases(ctx, sort_key='trust_id')
    theirs = service.list_leases(other, project_id='p2')[0]
    unknown = '00000000-0000-0000-0000-000000000000'
    for marker in (theirs['id'], unknown):
        with pytest.raises(exceptions.InvalidInput,
                           match=f'^Invalid input: marker {marker} not found$'):
            service.list_leases(ctx, project_id='p1', marker=marker)
    # Without a project filter (an admin listing every project) it is a page marker.
    assert service.list_leases(ctx, marker=theirs['id'], sort_key='id') == [
        lease for lease in service.list_leases(ctx, sort_key='id')
        if lease['id'] > theirs['id']]


def test_list_shows_reservations_events_and_plugin_fields(service, ctx):
    created = service.create_lease(ctx, lease_body(soon(3600), soon(7200), name='full'))
    listed, = service.list_leases(ctx, project_id='p1')
    assert listed == service.get_lease(ctx, created['id'])
    assert listed['reservations'][0]['dummy'] is True
    assert sorted(e['event_type'] for e in listed['events']) == [
        'before_end_lease', 'end_lease', 'start_lease']


def test_get_unknown_lease_is_404(service, ctx):
    with pytest.raises(exceptions.LeaseNotFound) as err:
        service.get_lease(ctx, 'no-such-lease')
    assert err.value.code == 404


# Update ----------------------------------------------------------------------------
def test_move_pending_lease_moves_its_events(service, ctx, sent_notifications):
    lease = service.create_lease(ctx, lease_body('2099-01-01 10:00', '2099-01-01 12:00'))
    updated = service.update_lease(ctx, lease['id'], {
        'start_date': '2099-02-01 10:00', 'end_date': '2099-02-01 14:00'})
    assert updated['status'] == 'PENDING'
    events = events_of(updated)
    assert events['start_lease']['time'] == '2099-02-01T10:00:00.000000'
    assert events['end_lease']['time'] == '2099-02-01T14:00:00.000000'
    # The before-end event keeps its distance (1 h) to the end.
    assert events['before_end_lease']['time'] == '2099-02-01T13:00:00.000000'
    assert journal(service).count(('update', 'done')) == 1
    assert sent_notifications[-1]['event_type'] == 'lease.update'


def test_rename_is_allowed_in_any_stable_status(service, ctx):
    lease = service.create_lease(ctx, lease_body(soon(3600), soon(7200)))
    for status in ('PENDING', 'ACTIVE', 'TERMINATED', 'ERROR'):
        force_status(ctx, lease['id'], status)
        assert service.update_lease(ctx, lease['id'], {'name': status})['name'] == status


def test_empty_update_returns_lease_unchanged(service, ctx):
    lease = service.create_lease(ctx, lease_body(soon(3600), soon(7200)))
    assert service.update_lease(ctx, lease['id'], {'prolong_for': '1d'}) == lease


def _started(service, ctx):
    lease = service.create_lease(ctx, lease_body('now', soon(7200)))
    with db_api.writer.using(ctx):
        row = lease_db.get(ctx, lease['id'])
        row.status = 'ACTIVE'
        for event in row.events:
            if event.event_type == 'start_lease':
                event.status = 'DONE'
    return lease


def test_started_lease_can_change_its_end_only(service, ctx):
    lease = _started(service, ctx)
    new_end = timeutils.format_date(soon(3 * 3600))[:16].replace('T', ' ')
    updated = service.update_lease(ctx, lease['id'], {'end_date': new_end})
    assert updated['status'] == 'ACTIVE'
    assert events_of(updated)['end_lease']['time'].startswith(new_end.replace(' ', 'T'))
    with pytest.raises(exceptions.InvalidInput) as err:
        service.update_lease(ctx, lease['id'], {'start_date': '2099-01-01 00:00'})
    assert 'Cannot modify the start date of already started leases' in err.value.message
    assert service.get_lease(ctx, lease['id'])['status'] == 'ACTIVE'


def test_prolonging_past_a_before_end_that_ran_rearms_it_and_says_so(
        service, ctx, sent_notifications):
    lease = _started(service, ctx)
    with db_api.writer.using(ctx):
        for event in lease_db.get(ctx, lease['id']).events:
            if event.event_type == 'before_end_lease':
                event.status = 'DONE'
    new_end = timeutils.format_date(soon(5 * 3600))[:16].replace('T', ' ')
    updated = service.update_lease(ctx, lease['id'], {'end_date': new_end})
    assert events_of(updated)['before_end_lease']['status'] == 'UNDONE'
    # Blazar's consumers are told the before-end they saw will run again.
    assert [n['event_type'] for n in sent_notifications][-2:] == [
        'lease.update', 'lease.event.before_end_lease.stop']
    assert sent_notifications[-1]['payload']['lease_id'] == lease['id']


def test_an_update_that_rearms_nothing_sends_no_stop(service, ctx, sent_notifications):
    lease = _started(service, ctx)
    new_end = timeutils.format_date(soon(5 * 3600))[:16].replace('T', ' ')
    service.update_lease(ctx, lease['id'], {'end_date': new_end})
    assert 'lease.event.before_end_lease.stop' not in [
        n['event_type'] for n in sent_notifications]


def test_terminated_lease_can_only_be_renamed(service, ctx):
    lease = service.create_lease(ctx, lease_body(soon(3600), soon(7200)))
    force_status(ctx, lease['id'], 'TERMINATED')
    with pytest.raises(exceptions.InvalidInput) as err:
        service.update_lease(ctx, lease['id'], {'end_date': '2099-01-01 00:00'})
    assert 'Terminated leases can only be renamed' in err.value.message
    assert service.get_lease(ctx, lease['id'])['status'] == 'TERMINATED'


@pytest.mark.parametrize('change, message', [
    ({'start_date': '2000-01-01 00:00'}, 'Start date must be later than current date'),
    ({'end_date': '2099-01-01 09:00'}, 'End date must be later than start date.'),
    ({'reservations': [{'min': 2}]}, 'Missing parameter reservation ID'),
    ({'reservations': [{'id': 'not-mine'}]}, 'not-mine do not belong to lease'),
    ({'start_date': 'tomorrow'}, 'tomorrow is an invalid date'),
])
def test_bad_update_changes_nothing(service, ctx, change, message):
    lease = service.create_lease(ctx, lease_body('2099-01-01 10:00', '2099-01-01 12:00'))
    with pytest.raises(exceptions.ClimateException) as err:
        service.update_lease(ctx, lease['id'], change)
    assert message in err.value.message and err.value.code == 400
    assert service.get_lease(ctx, lease['id']) == lease


def test_reservation_type_cannot_change(service, ctx):
    lease = service.create_lease(ctx, lease_body('2099-01-01 10:00', '2099-01-01 12:00'))
    rid = lease['reservations'][0]['id']
    with pytest.raises(exceptions.CantUpdateParameter) as err:
        service.update_lease(ctx, lease['id'], {'reservations': [
            {'id': rid, 'resource_type': 'physical:host'}]})
    assert err.value.code == 409


@pytest.mark.parametrize('status', ['CREATING', 'STARTING', 'UPDATING', 'TERMINATING',
                                    'DELETING'])
def test_update_and_delete_refused_while_lease_stays_busy(service, ctx, manager_conf,
                                                         status):
    manager_conf.set_override('settle_wait', 0.1, group='manager')
    lease = service.create_lease(ctx, lease_body('2099-01-01 10:00', '2099-01-01 12:00'))
    force_status(ctx, lease['id'], status)
    with pytest.raises(exceptions.InvalidStatus) as err:
        service.update_lease(ctx, lease['id'], {'end_date': '2099-01-01 13:00'})
    assert err.value.code == 409 and 'try again' in err.value.message
    with pytest.raises(exceptions.InvalidStatus):
        service.delete_lease(ctx, lease['id'])
    assert service.get_lease(ctx, lease['id'])['status'] == status


@pytest.mark.parametrize('action', ['update', 'delete'])
def test_update_and_delete_wait_for_a_start_in_progress(service, ctx, action):
    # A user who deletes a lease at the moment it starts is served once the start
    # is over (within [manager] settle_wait, 10 s by default), not told to retry.
    lease = service.create_lease(ctx, lease_body('2099-01-01 10:00', '2099-01-01 12:00'))
    force_status(ctx, lease['id'], 'STARTING')
    settles = threading.Timer(0.3, force_status, (ctx, lease['id'], 'ACTIVE'))
    settles.start()
    try:
        if action == 'delete':
            service.delete_lease(ctx, lease['id'])
            with pytest.raises(exceptions.NotFound):
                service.get_lease(ctx, lease['id'])
        else:
            updated = service.update_lease(ctx, lease['id'],
                                           {'end_date': '2099-01-01 13:00'})
            assert updated['end_date'] == '2099-01-01T13:00:00.000000'
    finally:
        settles.join()


class CapacityPlugin(dummy.DummyPlugin):
    def update(self, context, lease, reservation, values, start_date, end_date):
        if end_date - start_date > datetime.timedelta(hours=4):
            raise exceptions.NotEnoughHostsAvailable()


def test_update_without_capacity_is_409_and_keeps_the_lease(service, ctx, manager_conf):
    service.plugins['dummy:resource'] = CapacityPlugin(manager_conf)
    lease = service.create_lease(ctx, lease_body('2099-01-01 10:00', '2099-01-01 12:00'))
    # Last changed yesterday: the status goes UPDATING and back during the refused
    # update, which must not show as a change of the lease either.
    with db_api.writer.using(ctx):
        lease_db.get(ctx, lease['id']).updated_at = \
            timeutils.utcnow() - datetime.timedelta(days=1)
    before = service.get_lease(ctx, lease['id'])
    with pytest.raises(exceptions.NotEnoughHostsAvailable) as err:
        service.update_lease(ctx, lease['id'], {'end_date': '2099-01-01 18:00'})
    assert err.value.code == 409 and err.value.message == 'Not enough hosts available'
    assert service.get_lease(ctx, lease['id']) == before


# Delete ----------------------------------------------------------------------------
@pytest.mark.parametrize('status, reservation_status, plugin_action', [
    ('PENDING', 'pending', 'release'),
    ('ACTIVE', 'active', 'on_end'),
    ('ERROR', 'error', 'on_end'),
    ('TERMINATED', 'deleted', None),
])
def test_delete_gives_resources_back_and_removes_the_lease(
        service, ctx, sent_notifications, status, reservation_status, plugin_action):
    lease = service.create_lease(ctx, lease_body(soon(3600), soon(7200)))
    with db_api.writer.using(ctx):
        row = lease_db.get(ctx, lease['id'])
        row.status = status
        row.reservations[0].status = reservation_status
    service.delete_lease(ctx, lease['id'])
    with pytest.raises(exceptions.LeaseNotFound):
        service.get_lease(ctx, lease['id'])
    actions = [a for a, p in journal(service) if p == 'done']
    for action in ('release', 'on_end'):
        assert actions.count(action) == (1 if action == plugin_action else 0)
    assert sent_notifications[-1]['event_type'] == 'lease.delete'
    assert sent_notifications[-1]['payload']['id'] == lease['id']


def test_failed_delete_keeps_the_lease_in_its_status_and_can_be_retried(
        service, ctx, manager_conf):
    manager_conf.set_override('fail_actions', {'release': 'always'}, group='dummy_plugin')
    lease = service.create_lease(ctx, lease_body(soon(3600), soon(7200)))
    with pytest.raises(dummy.PermanentFailure):
        service.delete_lease(ctx, lease['id'])
    kept = service.get_lease(ctx, lease['id'])
    # A refused delete is no failure of the lease's own: it stays PENDING, not ERROR.
    assert kept['status'] == 'PENDING'
    assert 'delete failed: dummy release always fails' in kept['status_reason']
    # Once the cause is gone, deleting again works.
    manager_conf.set_override('fail_actions', {}, group='dummy_plugin')
    service.delete_lease(ctx, lease['id'])
    assert service.list_leases(ctx) == []


class BrokenUpdatePlugin(dummy.DummyPlugin):
    """A plugin with a bug in ``update``: not a Climate exception."""

    def update(self, context, lease, reservation, values, start_date, end_date):
        raise KeyError('count_range')


def test_update_whose_plugin_breaks_changes_nothing_and_the_lease_still_starts(
        service, engine, ctx, manager_conf):
    service.plugins['dummy:resource'] = BrokenUpdatePlugin(manager_conf)
    lease = service.create_lease(ctx, lease_body(soon(3), soon(7200)))
    with pytest.raises(exceptions.ClimateException) as err:
        service.update_lease(ctx, lease['id'], {'end_date': soon(3 * 3600).isoformat()})
    assert err.value.code == 500
    assert err.value.message == (f"Lease {lease['id']} was not updated and is unchanged: "
                                 f"KeyError: 'count_range'")
    kept = service.get_lease(ctx, lease['id'])
    assert {**kept, 'updated_at': None} == {**lease, 'updated_at': None}
    # Its start comes and it starts as if nothing had happened.
    wait_for(lambda: service.get_lease(ctx, lease['id'])['status'] == 'ACTIVE',
             timeout=15)
    assert events_of(service.get_lease(ctx, lease['id']))['start_lease']['status'] == \
        'DONE'


class NovaFailsAfterUpdate(dummy.DummyPlugin):
    """``after_update`` fails ``failures`` times (Nova down), then works."""

    failures = 1

    def __init__(self, conf):
        super().__init__(conf)
        self.calls = []

    def after_update(self, context, lease, reservation):
        self.calls.append((lease['start_date'], lease['end_date']))
        if len(self.calls) <= self.failures:
            raise compute_exc.ComputeError('nova-api is down', retryable=True,
                                           status_code=503)


@pytest.mark.parametrize('failures', [1, 2])
def test_update_whose_nova_side_fails_is_undone(service, ctx, manager_conf, failures):
    plugin = service.plugins['dummy:resource'] = NovaFailsAfterUpdate(manager_conf)
    plugin.failures = failures
    lease = service.create_lease(ctx, lease_body('2099-01-01 10:00', '2099-01-01 12:00'))
    with pytest.raises(compute_exc.ComputeError) as err:
        service.update_lease(ctx, lease['id'], {'name': 'moved',
                                                'start_date': '2099-01-02 10:00',
                                                'end_date': '2099-01-02 12:00'})
    assert err.value.retryable  # the RPC endpoint answers 503
    kept = service.get_lease(ctx, lease['id'])
    assert {**kept, 'updated_at': None} == {**lease, 'updated_at': None}
    # after_update ran for the new window, then again for the window put back
    # (even when Nova is still down then: the rows are back all the same).
    new = (datetime.datetime(2099, 1, 2, 10, tzinfo=datetime.timezone.utc),
           datetime.datetime(2099, 1, 2, 12, tzinfo=datetime.timezone.utc))
    old = (new[0] - 24 * HOUR, new[1] - 24 * HOUR)
    assert plugin.calls == [new, old]
    # Nothing is left half-done: the same update works once Nova is back.
    moved = service.update_lease(ctx, lease['id'], {'start_date': '2099-01-02 10:00',
                                                    'end_date': '2099-01-02 12:00'})
    assert moved['status'] == 'PENDING'
    assert moved['start_date'] == '2099-01-02T10:00:00.000000'


def test_state_machine_refuses_what_it_does_not_list():
    assert states.allowed('lease', 'PENDING', 'STARTING')
    assert not states.allowed('lease', 'TERMINATED', 'ACTIVE')
    assert not states.allowed('lease', 'DELETING', 'STARTING')
    # Failed requests go back where they came from; nothing makes a request's
    # failure ERROR unless the lease was ERROR before.
    assert states.allowed('lease', 'DELETING', 'PENDING')
    assert states.sources('lease', 'ERROR') == sorted(
        ['STARTING', 'UPDATING', 'TERMINATING', 'DELETING'])
    assert states.sources('lease', 'DELETING') == sorted(
        ['CREATING', 'PENDING', 'STARTING', 'ACTIVE', 'UPDATING', 'TERMINATING',
         'TERMINATED', 'ERROR'])
    with pytest.raises(exceptions.InvalidStateTransition):
        states.check('event', 'e1', 'DONE', 'IN_PROGRESS')
