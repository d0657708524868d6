"""Checking and normalising virtual:instance reservation requests."""

import pytest

from climate import exceptions
from climate.db import instance_reservations
from climate.plugins.virtual_instance import request

SERVER = '3f1a3a4e-8a40-4c0b-9d64-4a6a1f0e2b11'


def parse(**values):
    return request.parse_create(dict(resource_type='virtual:instance', **values),
                                'snapshot_and_delete')


def test_defaults():
    assert parse(resource_id=SERVER) == {'server_id': SERVER,
                                         'on_end': 'snapshot_and_delete',
                                         'before_end': 'default'}


def test_server_ids_are_normalised():
    assert parse(resource_id=' ' + SERVER.upper().replace('-', '') + ' ')[
        'server_id'] == SERVER


@pytest.mark.parametrize('on_end', ['snapshot_and_delete', 'delete', 'shelve', 'none'])
def test_every_end_action(on_end):
    assert parse(resource_id=SERVER, on_end=on_end)['on_end'] == on_end


def test_empty_on_end_takes_the_configured_default():
    assert request.parse_create({'resource_id': SERVER, 'on_end': ''}, 'shelve')[
        'on_end'] == 'shelve'


@pytest.mark.parametrize('before_end, expected', [
    (None, 'default'), ('', 'default'), ('default', 'default'), ('snapshot', 'snapshot')])
def test_before_end(before_end, expected):
    assert parse(resource_id=SERVER, before_end=before_end)['before_end'] == expected


@pytest.mark.parametrize('values, error, message', [
    ({}, exceptions.MissingParameter, 'Missing parameter resource_id'),
    ({'resource_id': ''}, exceptions.MissingParameter, 'Missing parameter resource_id'),
    ({'resource_id': 42}, exceptions.InvalidInput,
     'resource_id must be the UUID of a Nova server, not 42'),
    ({'resource_id': SERVER, 'on_end': 'suspend'}, exceptions.InvalidInput,
     "on_end must be one of snapshot_and_delete, delete, shelve, none, not 'suspend'"),
    ({'resource_id': SERVER, 'before_end': 'snap'}, exceptions.InvalidInput,
     "before_end must be one of default, snapshot, not 'snap'"),
    ({'resource_id': SERVER, 'flavor': 'm1'}, exceptions.InvalidInput,
     'flavor: unknown field(s) of a virtual:instance reservation'),
    ({'resource_id': SERVER, 'amount': 2}, exceptions.InvalidInput,
     'amount: capacity-mode fields cannot be combined with resource_id'),
])
def test_errors_name_the_field(values, error, message):
    with pytest.raises(error) as caught:
        parse(**values)
    assert message in str(caught.value)
    assert caught.value.code == 400


@pytest.mark.parametrize('values, capacity', [
    ({'vcpus': 1, 'memory_mb': 512, 'disk_gb': 1, 'amount': 1, 'affinity': 'None',
      'resource_properties': ''}, True),
    ({'resource_type': 'virtual:instance', 'affinity': 'False'}, True),
    ({'resource_id': SERVER, 'vcpus': '', 'affinity': 'None'}, False),
    ({'vcpus': '', 'amount': None, 'affinity': 'None', 'resource_properties': ''},
     False),
])
def test_capacity_mode_is_chosen_by_filled_fields_without_resource_id(values,
                                                                       capacity):
    assert request.is_capacity_mode(values) is capacity


def test_update_may_change_the_end_and_before_end_actions():
    assert request.parse_update({'on_end': 'none', 'before_end': 'snapshot'},
                                SERVER) == {'on_end': 'none', 'before_end': 'snapshot'}
    assert request.parse_update({}, SERVER) == {}
    # Repeating the server is fine; another one is not.
    assert request.parse_update({'resource_id': SERVER.upper()}, SERVER) == {}
    with pytest.raises(exceptions.CantUpdateParameter):
        request.parse_update({'resource_id': '0' * 32}, SERVER)


def test_the_hold_key_is_a_stable_uuid_per_server():
    hold_key = instance_reservations.hold_key
    assert hold_key(SERVER) == hold_key(SERVER)
    assert hold_key(SERVER) != hold_key(SERVER.replace('3f', '4f'))
    assert len(hold_key(SERVER)) == 36
