"""The parsed lease request: every rule of a create, an update and a listing, and
the message each refusal carries."""

import datetime

import pytest

from climate import context as climate_context
from climate import exceptions
from climate.common import timeutils
from climate.manager import lease_request

UTC = datetime.timezone.utc
START = datetime.datetime(2099, 1, 1, 10, 0, tzinfo=UTC)
END = datetime.datetime(2099, 1, 1, 12, 0, tzinfo=UTC)


class EchoPlugin:
    """Returns what it was given, marked, so the test sees the plugin's output."""

    def validate(self, context, values):
        return dict(values, validated=True)


PLUGINS = {'echo': EchoPlugin()}


def plugin_for(resource_type):
    try:
        return PLUGINS[resource_type]
    except KeyError:
        raise exceptions.UnsupportedResourceType(resource_type=resource_type) from None


@pytest.fixture
def ctx():
    return climate_context.RequestContext(user_id='u1', project_id='p1')


def create(ctx, minutes_before_end=60, **values):
    body = {'name': 'l', 'start_date': '2099-01-01 10:00', 'end_date': '2099-01-01 12:00'}
    body.update(values)
    return lease_request.parse_create(ctx, body, plugin_for, minutes_before_end)


def refused(error, function, *args, **kwargs):
    with pytest.raises(error) as caught:
        function(*args, **kwargs)
    return caught.value


# Create ----------------------------------------------------------------------------
def test_a_valid_request(ctx):
    request = create(ctx, reservations=[{'resource_type': 'echo', 'n': 1}])
    assert (request.name, request.start, request.end) == ('l', START, END)
    assert request.before_end == END - datetime.timedelta(hours=1)
    assert (request.project_id, request.user_id) == ('p1', 'u1')
    assert request.reservations == (lease_request.ReservationRequest(
        'echo', {'resource_type': 'echo', 'n': 1, 'validated': True}),)
    assert request.resource_types == ['echo']


def test_dates_in_every_accepted_format(ctx):
    request = create(ctx, start_date='now', end_date='2099-01-01T12:00:00+02:00')
    assert request.start == timeutils.utcnow_minute() or \
        request.start == timeutils.utcnow_minute() - datetime.timedelta(minutes=1)
    assert request.end == END - datetime.timedelta(hours=2)


def test_the_before_end_event(ctx):
    assert create(ctx, before_end_date='2099-01-01 11:30').before_end == \
        END - datetime.timedelta(minutes=30)
    # Shorter leases than the configured distance: at the start.
    assert create(ctx, minutes_before_end=600).before_end == START
    assert create(ctx, minutes_before_end=0).before_end is None


def test_project_and_user_given_in_the_request(ctx):
    request = create(ctx, project_id='p2', user_id='u2')
    assert (request.project_id, request.user_id) == ('p2', 'u2')
    anonymous = climate_context.RequestContext(user_id=None, project_id=None)
    error = refused(exceptions.MissingParameter, create, anonymous)
    assert error.message == 'Missing parameter project_id'


def test_the_lease_is_an_object(ctx):
    error = refused(exceptions.InvalidInput, lease_request.parse_create, ctx, [],
                    plugin_for, 60)
    assert error.message == 'Invalid input: the lease must be an object'


@pytest.mark.parametrize('key', ['name', 'start_date', 'end_date'])
def test_required_keys(ctx, key):
    error = refused(exceptions.MissingParameter, create, ctx, **{key: None})
    assert error.message == f'Missing parameter {key}' and error.code == 400


@pytest.mark.parametrize('name', [12, '', '  ', ['a']])
def test_a_name_is_a_non_blank_string(ctx, name):
    error = refused(exceptions.MalformedParameter, create, ctx, name=name)
    assert error.message == 'Malformed parameter name'


def test_a_name_is_at_most_80_characters(ctx):
    assert create(ctx, name='x' * 80).name == 'x' * 80
    error = refused(exceptions.InvalidInput, create, ctx, name='x' * 81)
    assert error.message == 'Invalid value for name: longer than 80 characters'


@pytest.mark.parametrize('field', ['start_date', 'end_date', 'before_end_date'])
def test_an_unreadable_date_names_its_field(ctx, field):
    error = refused(exceptions.InvalidDate, create, ctx, **{field: '01/01/2099'})
    assert error.message.startswith(
        '01/01/2099 is an invalid date. Required format: %Y-%m-%d %H:%M')
    assert error.kwargs['field'] == field and error.code == 400


def test_a_start_in_the_past(ctx):
    error = refused(exceptions.InvalidInput, create, ctx, start_date='2000-01-01 00:00')
    assert error.message == 'Start date must be later than current date'


@pytest.mark.parametrize('end', ['2099-01-01 10:00', '2099-01-01 09:00'])
def test_the_end_after_the_start(ctx, end):
    error = refused(exceptions.InvalidInput, create, ctx, end_date=end)
    assert error.message == 'End date must be later than start date.'


@pytest.mark.parametrize('when', ['2099-01-01 10:00', '2099-01-01 12:00',
                                  '2099-01-02 00:00'])
def test_before_end_strictly_inside_the_lease(ctx, when):
    error = refused(exceptions.NotAuthorized, create, ctx, before_end_date=when)
    assert error.message == 'Datetime is out of lease limits' and error.code == 403


@pytest.mark.parametrize('reservations, error, message', [
    ('all', exceptions.MalformedParameter, 'Malformed parameter reservations'),
    (['x'], exceptions.MalformedParameter, 'Malformed parameter reservations'),
    ([{'resource_type': 'echo'}, {'n': 1}], exceptions.MissingParameter,
     'Missing parameter reservations[1].resource_type'),
    ([{'resource_type': 'nothing'}], exceptions.UnsupportedResourceType,
     'The nothing resource type is not supported'),
])
def test_reservations(ctx, reservations, error, message):
    assert refused(error, create, ctx, reservations=reservations).message == message


def test_no_reservations(ctx):
    assert create(ctx).reservations == ()
    assert create(ctx, reservations=None).reservations == ()


# Update ----------------------------------------------------------------------------
def stored(status='PENDING', start=START, end=END, started=False):
    return {'id': 'lease-1', 'status': status, 'start_date': start, 'end_date': end,
            'events': {'start_lease': 'DONE' if started else 'UNDONE'},
            'reservations': [{'id': 'r1', 'resource_type': 'echo'}]}


def change(lease, **values):
    return lease_request.parse_change(lease, values)


def test_nothing_to_change():
    assert change(stored()).is_empty
    assert change(stored(), prolong_for='1d').is_empty


def test_a_rename_checks_no_date():
    # Even a terminated lease ending in the past may be renamed.
    past = datetime.datetime(2000, 1, 1, tzinfo=UTC)
    renamed = change(stored('TERMINATED', past, past), name='new')
    assert renamed.renames_only and renamed.name == 'new'
    error = refused(exceptions.InvalidInput, change, stored(), name='x' * 81)
    assert error.message == 'Invalid value for name: longer than 80 characters'


def test_the_update_is_an_object():
    error = refused(exceptions.InvalidInput, lease_request.parse_change, stored(), 'x')
    assert error.message == 'Invalid input: the lease must be an object'


def test_moving_a_pending_lease():
    moved = change(stored(), start_date='2099-02-01 10:00', end_date='2099-02-01 14:00',
                   before_end_date='2099-02-01 13:00')
    assert moved.start == START.replace(month=2)
    assert moved.end == END.replace(month=2, hour=14)
    assert moved.before_end == END.replace(month=2, hour=13)
    assert not moved.renames_only and moved.reservations == {}


def test_unchanged_dates_are_the_leases():
    longer = change(stored(), end_date='2099-01-01 13:00')
    assert (longer.start, longer.end, longer.before_end) == (
        START, END.replace(hour=13), None)


def test_a_started_lease_keeps_its_start():
    error = refused(exceptions.InvalidInput, change, stored('ACTIVE', started=True),
                    start_date='2099-01-01 11:00')
    assert error.message == 'Cannot modify the start date of already started leases'


@pytest.mark.parametrize('values', [{'end_date': '2099-01-01 13:00'},
                                    {'reservations': [{'id': 'r1'}]},
                                    {'before_end_date': '2099-01-01 11:00'}])
def test_a_terminated_lease_can_only_be_renamed(values):
    error = refused(exceptions.InvalidInput, change, stored('TERMINATED'), **values)
    assert error.message == 'Terminated leases can only be renamed'


def test_a_new_start_in_the_past():
    error = refused(exceptions.InvalidInput, change, stored(),
                    start_date='2000-01-01 00:00')
    assert error.message == 'Start date must be later than current date'


def test_a_new_end_before_the_start():
    error = refused(exceptions.InvalidInput, change, stored(),
                    end_date='2099-01-01 09:00')
    assert error.message == 'End date must be later than start date.'


def test_a_new_end_in_the_past():
    now = timeutils.utcnow()
    lease = stored('ACTIVE', now - datetime.timedelta(hours=2),
                   now + datetime.timedelta(hours=1), started=True)
    past = (now - datetime.timedelta(hours=1)).strftime('%Y-%m-%d %H:%M')
    error = refused(exceptions.InvalidInput, change, lease, end_date=past)
    assert error.message == 'End date must be later than current and start date'


def test_a_new_before_end_inside_the_new_window():
    error = refused(exceptions.NotAuthorized, change, stored(),
                    end_date='2099-01-01 11:00', before_end_date='2099-01-01 11:30')
    assert error.message == 'Datetime is out of lease limits'


def test_an_unreadable_new_date_names_its_field():
    error = refused(exceptions.InvalidDate, change, stored(), end_date='tomorrow')
    assert error.message.startswith('tomorrow is an invalid date')
    assert error.kwargs['field'] == 'end_date'


def test_reservation_changes():
    changed = change(stored(), reservations=[{'id': 'r1', 'resource_type': 'echo',
                                              'max': 3}])
    assert changed.reservations == {'r1': {'max': 3}}


@pytest.mark.parametrize('reservations, error, message', [
    ('all', exceptions.MalformedParameter, 'Malformed parameter reservations'),
    ([1], exceptions.MalformedParameter, 'Malformed parameter reservations'),
    ([{'max': 2}], exceptions.MissingParameter, 'Missing parameter reservation ID'),
    ([{'id': 'r9'}, {'id': 'r8'}], exceptions.InvalidInput,
     'Reservation(s) r9, r8 do not belong to lease lease-1'),
    ([{'id': 'r1', 'resource_type': 'other'}], exceptions.CantUpdateParameter,
     'resource_type cannot be updated'),
])
def test_reservations_of_an_update(reservations, error, message):
    assert refused(error, change, stored(), reservations=reservations).message == \
        message


# Listing ---------------------------------------------------------------------------
def test_list_query_defaults_and_filters():
    assert lease_request.parse_list_query({'name': 'x'}) == {
        'name': 'x', 'sort_key': 'created_at', 'sort_dir': 'asc'}
    assert lease_request.parse_list_query({'sort_key': 'id', 'sort_dir': 'desc'}) == {
        'sort_key': 'id', 'sort_dir': 'desc'}


def test_list_query_refuses_an_unknown_sort():
    error = refused(exceptions.InvalidInput, lease_request.parse_list_query,
                    {'sort_key': 'trust_id'})
    assert error.message.startswith('Invalid input: sort_key must be one of created_at')
    error = refused(exceptions.InvalidInput, lease_request.parse_list_query,
                    {'sort_dir': 'up'})
    assert error.message == 'Invalid input: sort_dir must be asc or desc'
