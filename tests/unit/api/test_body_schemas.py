"""The API's body schemas: shape only, with the messages the stories expect; a date
the manager refuses is answered naming its field."""

import pytest

from climate import exceptions
from climate.api import validation
from climate.api.v1 import common
from climate.api.v1 import host_schemas
from climate.api.v1 import lease_schemas
from climate.api.v1 import leases


def refused(schema, body):
    with pytest.raises(exceptions.ClimateException) as caught:
        validation.validate(schema, body)
    assert caught.value.code == 400
    return caught.value


def test_a_capability_name_over_64_characters():
    error = refused(host_schemas.CREATE, {'name': 'c1', 'k' * 65: 'v'})
    assert isinstance(error, exceptions.ExtraCapabilityTooLong)
    assert error.message == 'Extra capability key too long'
    validation.validate(host_schemas.CREATE, {'name': 'c1', 'k' * 64: 'v'})


def test_a_host_update_changes_something():
    assert refused(host_schemas.UPDATE, {}).message == 'No data to update'
    assert refused(host_schemas.UPDATE, {'k' * 65: 'v'}).message == \
        'Extra capability key too long'
    validation.validate(host_schemas.UPDATE, {'gpu': 'true'})


def test_lease_dates_are_strings_read_by_the_manager():
    body = {'name': 'x', 'start_date': 'whenever', 'end_date': '2030-01-01 10:00'}
    validation.validate(lease_schemas.CREATE, body)  # the manager reads the date
    assert refused(lease_schemas.CREATE, dict(body, end_date=20300101)).message \
        .startswith('Invalid value for end_date: ')


def test_host_counts_reach_the_plugin_as_sent():
    body = {'name': 'x', 'start_date': 'now', 'end_date': '2030-01-01 10:00',
            'reservations': [{'resource_type': 'physical:host', 'min': ' 2 ',
                              'max': 3}]}
    validation.validate(lease_schemas.CREATE, body)
    assert leases._values(body, lease_schemas.CREATE_KEYS)['reservations'] == \
        [{'resource_type': 'physical:host', 'min': ' 2 ', 'max': 3}]
    assert refused(lease_schemas.CREATE, {**body, 'reservations': [
        {'resource_type': 'physical:host', 'min': 'two', 'max': 3}]}).message == \
        'Invalid value for reservations[0].min: must be an integer'


def test_a_date_the_manager_refuses_names_its_field():
    def manager_call(values):
        raise exceptions.InvalidDate(date=values['end_date'], field='end_date')
    with pytest.raises(exceptions.InvalidDate) as caught:
        common.naming_the_date(manager_call, {'end_date': 'tomorrow'})
    assert caught.value.message.startswith(
        'end_date: tomorrow is an invalid date. Required format: %Y-%m-%d %H:%M')
    assert caught.value.code == 400


def test_other_errors_of_the_manager_are_untouched():
    def manager_call():
        raise exceptions.InvalidDate('as the manager said')
    with pytest.raises(exceptions.InvalidDate) as caught:
        common.naming_the_date(manager_call)
    assert caught.value.message == 'as the manager said'
