"""Lease notifications carry Blazar's payload (built from the API view, Climate's
extra keys beside Blazar's) and come from ``[notifications] publisher_id``."""

import copy
import datetime
import re
import types

from oslo_config import cfg
import oslo_messaging as messaging
from oslo_messaging.notify import _impl_test as test_notifications
import pytest

from climate import context as climate_context
from climate.manager import notifications
from climate.manager import views

UTC = datetime.timezone.utc
BLAZAR_DATE = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$')
BLAZAR_STAMP = re.compile(r'^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$')
BLAZAR_KEYS = {'lease_id', 'user_id', 'project_id', 'trust_id', 'start_date', 'end_date',
               'status', 'reservations', 'events', 'name', 'created_at', 'updated_at',
               'degraded'}
CREATED = datetime.datetime(2030, 1, 1, 8, 30, 15, tzinfo=UTC)
UPDATED = datetime.datetime(2030, 1, 1, 9, 0, 45, tzinfo=UTC)


class _Plugin:
    def details(self, context, reservations):
        return {r.id: {'min': 1, 'max': 2, 'hypervisor_properties': '',
                       'resource_properties': '["==", "$gpu", "true"]',
                       'before_end': 'default'} for r in reservations}


def _view():
    """A lease view as the API shows it, made by climate.manager.views."""
    event = types.SimpleNamespace(
        id='e1', lease_id='l1', event_type='start_lease', status='DONE',
        time=datetime.datetime(2030, 1, 2, 3, 4, tzinfo=UTC), error=None,
        created_at=CREATED, updated_at=UPDATED)
    before_end = types.SimpleNamespace(
        id='e2', lease_id='l1', event_type='before_end_lease', status='ERROR',
        time=datetime.datetime(2030, 1, 3, 2, 4, tzinfo=UTC), error='snapshot failed',
        created_at=CREATED, updated_at=None)
    reservation = types.SimpleNamespace(
        id='r1', lease_id='l1', resource_id='h1', resource_type='physical:host',
        status='active', missing_resources=False, resources_changed=True,
        created_at=CREATED, updated_at=UPDATED)
    lease = types.SimpleNamespace(
        id='l1', name='demo', project_id='p1', user_id='u1', trust_id='t1',
        start_date=datetime.datetime(2030, 1, 2, 3, 4, tzinfo=UTC),
        end_date=datetime.datetime(2030, 1, 3, 3, 4, tzinfo=UTC),
        status='ACTIVE', status_reason='started', degraded=True,
        reservations=[reservation], events=[event, before_end],
        created_at=CREATED, updated_at=UPDATED)
    return views.leases(None, [lease], {'physical:host': _Plugin()})[0]


@pytest.fixture
def payload():
    return notifications.lease_payload(_view())


def test_payload_has_every_key_blazar_sends(payload):
    assert BLAZAR_KEYS <= set(payload)


def test_lease_id_is_the_lease_id_and_climate_id_stays(payload):
    assert payload['lease_id'] == 'l1'
    assert payload['id'] == 'l1'


@pytest.mark.parametrize('key, value', [
    ('user_id', 'u1'), ('project_id', 'p1'), ('trust_id', 't1'), ('name', 'demo'),
    ('status', 'ACTIVE'), ('degraded', True), ('status_reason', 'started'),
])
def test_lease_field(payload, key, value):
    assert payload[key] == value


def test_lease_period_in_blazar_date_format(payload):
    assert payload['start_date'] == '2030-01-02T03:04:00.000000'
    assert payload['end_date'] == '2030-01-03T03:04:00.000000'


def test_lease_timestamps_in_blazar_format(payload):
    assert payload['created_at'] == '2030-01-01 08:30:15'
    assert payload['updated_at'] == '2030-01-01 09:00:45'
    assert BLAZAR_STAMP.match(payload['created_at'])


def test_reservations_are_blazar_reservation_dicts(payload):
    assert payload['reservations'] == [{
        'id': 'r1', 'lease_id': 'l1', 'resource_id': 'h1',
        'resource_type': 'physical:host', 'status': 'active',
        'missing_resources': False, 'resources_changed': True,
        'created_at': '2030-01-01 08:30:15', 'updated_at': '2030-01-01 09:00:45',
        'min': 1, 'max': 2, 'hypervisor_properties': '',
        'resource_properties': '["==", "$gpu", "true"]', 'before_end': 'default'}]


def test_events_are_blazar_event_dicts_with_climate_error(payload):
    start, before_end = payload['events']
    assert start == {'id': 'e1', 'lease_id': 'l1', 'event_type': 'start_lease',
                     'time': '2030-01-02T03:04:00.000000', 'status': 'DONE',
                     'created_at': '2030-01-01 08:30:15',
                     'updated_at': '2030-01-01 09:00:45', 'error': None}
    assert before_end['error'] == 'snapshot failed'
    assert before_end['updated_at'] is None
    assert BLAZAR_DATE.match(before_end['time'])


def test_missing_blazar_keys_are_sent_as_null():
    payload = notifications.lease_payload({'id': 'l2', 'events': [{'id': 'e'}]})
    assert BLAZAR_KEYS <= set(payload)
    assert payload['trust_id'] is None and payload['reservations'] == []
    assert payload['events'][0]['time'] is None


def test_the_view_is_not_changed():
    view = _view()
    before = copy.deepcopy(view)
    payload = notifications.lease_payload(view)
    payload['reservations'][0]['status'] = 'changed'
    payload['events'][0]['status'] = 'changed'
    assert view == before
    assert 'lease_id' not in view


# The notifier ---------------------------------------------------------------------

@pytest.fixture
def transport():
    # The fake transport only works with the global CONF (its tracing options).
    transport = messaging.get_notification_transport(cfg.CONF, url='fake:///')
    test_notifications.reset()
    yield transport
    test_notifications.reset()
    transport.cleanup()


def _sent():
    return [(message, priority) for _ctxt, message, priority, _retry
            in test_notifications.NOTIFICATIONS]


def _ctx():
    return climate_context.RequestContext(user_id='u1', project_id='p1')


def test_default_publisher_is_climate_lease(conf, transport):
    notifications.LeaseNotifier(conf, transport=transport, driver='test').notify(
        _ctx(), 'lease.create', _view())
    [(message, priority)] = _sent()
    assert message['publisher_id'] == 'climate.lease'
    assert priority == 'INFO'


def test_publisher_id_option_gives_blazar_publisher(conf, transport):
    conf.set_override('publisher_id', 'blazar.lease', group='notifications')
    notifications.LeaseNotifier(conf, transport=transport, driver='test').notify(
        _ctx(), 'lease.update', _view())
    [(message, _priority)] = _sent()
    assert message['publisher_id'] == 'blazar.lease'
    assert message['event_type'] == 'lease.update'


def test_notifier_sends_the_payload_of_a_view_made_on_demand(conf, transport):
    notifications.LeaseNotifier(conf, transport=transport, driver='test').notify(
        _ctx(), 'lease.event.start_lease', _view)
    [(message, _priority)] = _sent()
    assert message['payload'] == notifications.lease_payload(_view())
    assert message['payload']['lease_id'] == 'l1'


def test_a_failing_view_is_logged_not_raised(conf, transport):
    def broken():
        raise RuntimeError('database gone')
    notifications.LeaseNotifier(conf, transport=transport, driver='test').notify(
        _ctx(), 'lease.delete', broken)
    assert _sent() == []

