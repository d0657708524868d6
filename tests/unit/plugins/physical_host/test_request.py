"""The physical:host request fields: normalisation and clear 400s."""

import pytest

from climate import exceptions
from climate.plugins.physical_host import request
from climate.plugins.physical_host import requirements


def valid(**extra):
    values = {'min': 1, 'max': 2, 'hypervisor_properties': '',
              'resource_properties': ''}
    values.update(extra)
    return values


def test_defaults_and_normalisation():
    assert request.validate_create({'min': '2', 'max': ' 3 '}) == {
        'min': 2, 'max': 3, 'before_end': 'default', 'hypervisor_properties': '',
        'resource_properties': '', 'on_host_failure': 'replace'}


def test_properties_are_kept_as_text_and_lists_are_encoded():
    values = request.validate_create(valid(
        hypervisor_properties='[">=", "$vcpus", "4"]',
        resource_properties=['==', '$gpu', 'true'], before_end='snapshot'))
    assert values['hypervisor_properties'] == '[">=", "$vcpus", "4"]'
    assert values['resource_properties'] == '["==", "$gpu", "true"]'
    assert values['before_end'] == 'snapshot'
    assert request.validate_create(valid(resource_properties='[]'))[
        'resource_properties'] == ''


@pytest.mark.parametrize('missing', ['min', 'max'])
def test_min_and_max_are_required(missing):
    values = valid()
    del values[missing]
    with pytest.raises(exceptions.MissingParameter) as err:
        request.validate_create(values)
    assert err.value.message == f'Missing parameter {missing}'
    assert err.value.code == 400


@pytest.mark.parametrize('bad', ['bar', '1.5', True, 1.5, [1], {}, ''])
def test_non_integer_min_is_a_400_naming_it(bad):
    with pytest.raises(exceptions.InvalidInput) as err:
        request.validate_create(valid(min=bad))
    assert err.value.code == 400
    assert 'min' in err.value.message


@pytest.mark.parametrize('bad', [0, -1, '0', 100001])
def test_out_of_range_counts(bad):
    with pytest.raises(exceptions.InvalidInput) as err:
        request.validate_create(valid(max=bad, min=1))
    assert err.value.code == 400 and 'max' in err.value.message


def test_min_greater_than_max():
    with pytest.raises(exceptions.InvalidRange) as err:
        request.validate_create(valid(min='3', max=2))
    assert err.value.code == 400
    assert 'min (3) is greater than max (2)' in err.value.message


def test_int_like_floats_pass():
    assert request.validate_create(valid(min=2.0, max=2))['min'] == 2


@pytest.mark.parametrize('bad', ['later', 'SNAPSHOT', 1])
def test_bad_before_end(bad):
    with pytest.raises(exceptions.MalformedParameter) as err:
        request.validate_create(valid(before_end=bad))
    assert 'before_end' in err.value.message


def test_bad_requirements_are_refused_at_validation():
    with pytest.raises(exceptions.MalformedRequirements) as err:
        request.validate_create(valid(resource_properties='[">", "$gpus"'))
    assert 'resource_properties' in err.value.message


def test_update_merges_and_checks_the_resulting_range():
    current = request.validate_create(valid(min=2, max=3))
    assert request.validate_update({'max': '5', 'status': 'ignored'}, current)[
        'max'] == 5
    assert request.validate_update({}, current) == current
    with pytest.raises(exceptions.InvalidRange):
        request.validate_update({'min': 4}, current)
    updated = request.validate_update(
        {'resource_properties': '["==", "$gpu", "true"]', 'before_end': ''}, current)
    assert updated['resource_properties'] == '["==", "$gpu", "true"]'
    assert updated['before_end'] == ''


def test_requirements_are_parsed_once_into_the_request():
    values = request.validate_create(valid(
        hypervisor_properties='[">=", "$vcpus", "4"]',
        resource_properties=['==', '$gpu', 'true']))
    assert isinstance(values, request.HostRequest)
    assert values.requirements == {
        'hypervisor_properties': (requirements.Requirement('>=', 'vcpus', '4'),),
        'resource_properties': (requirements.Requirement('==', 'gpu', 'true'),)}
    assert request.validate_create(valid()).requirements == {
        'hypervisor_properties': (), 'resource_properties': ()}


def test_an_update_parses_the_new_requirements_and_the_kept_ones():
    stored = {'min': 1, 'max': 2, 'before_end': 'default', 'on_host_failure': 'keep',
              'hypervisor_properties': '["==", "$rack", "r1"]', 'resource_properties': ''}
    updated = request.validate_update({'resource_properties': '["<", "$gpus", 3]'},
                                      stored)
    assert updated.requirements == {
        'hypervisor_properties': (requirements.Requirement('==', 'rack', 'r1'),),
        'resource_properties': (requirements.Requirement('<', 'gpus', '3'),)}
    assert updated['hypervisor_properties'] == stored['hypervisor_properties']
    assert dict(updated) == dict(stored, resource_properties='["<", "$gpus", 3]')


def test_on_host_failure_defaults_to_replace_and_accepts_keep():
    assert request.validate_create(valid())['on_host_failure'] == 'replace'
    assert request.validate_create(valid(on_host_failure='keep'))['on_host_failure'] \
        == 'keep'
    stored = dict(request.validate_create(valid(on_host_failure='keep')))
    assert request.validate_update({'max': 2}, stored)['on_host_failure'] == 'keep'
    assert request.validate_update({'on_host_failure': 'replace'},
                                   stored)['on_host_failure'] == 'replace'


@pytest.mark.parametrize('bad', ['', 'drop', 1, True])
def test_bad_on_host_failure(bad):
    with pytest.raises(exceptions.MalformedParameter) as err:
        request.validate_create(valid(on_host_failure=bad))
    assert 'on_host_failure' in err.value.message
