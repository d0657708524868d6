"""Capacity reservation requests (climate.plugins.instance_capacity.request)."""

import pytest

from climate import exceptions
from climate.plugins.instance_capacity import request

BASE = {'vcpus': '2', 'memory_mb': 512, 'disk_gb': 0, 'amount': 3,
        'affinity': 'None', 'resource_properties': ''}


@pytest.mark.parametrize('sent, expected', [
    (None, None), ('None', None), ('none', None), ('', None), ('null', None),
    (True, True), ('True', True), ('true', True), (False, False), ('False', False),
])
def test_affinity_accepts_what_clients_send(sent, expected):
    assert request.affinity(sent) is expected


def test_virtual_request_is_normalised():
    parsed = request.parse_virtual(dict(BASE, affinity='False'))
    assert parsed == {'vcpus': 2, 'memory_mb': 512, 'disk_gb': 0, 'amount': 3,
                      'affinity': False, 'resource_properties': '',
                      'on_host_failure': 'replace', 'on_end': 'delete',
                      'source_flavor_id': None, 'extra_specs': {}}
    assert request.parse_virtual(dict(BASE, on_host_failure='keep'))[
        'on_host_failure'] == 'keep'


@pytest.mark.parametrize('change, words', [
    ({'vcpus': 0}, 'vcpus'), ({'amount': 100001}, 'amount'),
    ({'memory_mb': None}, 'memory_mb'), ({'affinity': 'sometimes'}, 'affinity'),
    ({'resource_properties': '{"a": 1}'}, 'resource_properties'),
    ({'color': 'red'}, 'color'), ({'on_host_failure': 'sometimes'}, 'on_host_failure'),
    ({'on_end': 'shelve'}, 'on_end'), ({'on_end': 1}, 'on_end'),
])
def test_bad_virtual_requests_are_400_naming_the_field(change, words):
    with pytest.raises(exceptions.ClimateException) as refused:
        request.parse_virtual(dict(BASE, **change))
    assert refused.value.code == 400 and words in str(refused.value)


def _current(**fields):
    current = request.parse_virtual(BASE)
    current.update(fields)
    return current


def test_update_before_the_start_changes_any_field_but_affinity():
    wanted = request.parse_update({'vcpus': 4, 'amount': '5', 'disk_gb': 3},
                                  _current(), False, 'virtual:instance')
    assert (wanted['vcpus'], wanted['amount'], wanted['disk_gb']) == (4, 5, 3)
    with pytest.raises(exceptions.CantUpdateParameter):
        request.parse_update({'affinity': True}, _current(), False, 'virtual:instance')
    # Sent back unchanged, read-only fields are fine.
    assert request.parse_update({'affinity': 'None', 'flavor_id': 'x',
                                 'aggregate_id': 3}, _current(), False,
                                'virtual:instance') == _current()


@pytest.mark.parametrize('sent, default, expected', [
    (None, 'delete', 'delete'), ('', 'snapshot_and_delete', 'snapshot_and_delete'),
    ('Default', 'delete', 'delete'), (' SNAPSHOT_AND_DELETE ', 'delete',
                                      'snapshot_and_delete'),
])
def test_on_end_takes_the_operator_default_when_not_given(sent, default, expected):
    assert request.parse_virtual(dict(BASE, on_end=sent), default)['on_end'] == expected


def test_on_end_may_change_once_started_and_none_keeps_it():
    current = _current(on_end='snapshot_and_delete')
    assert request.parse_update({'on_end': 'delete'}, current, True,
                                'flavor:instance')['on_end'] == 'delete'
    assert request.parse_update({'on_end': None}, current, True,
                                'virtual:instance')['on_end'] == 'snapshot_and_delete'
    assert request.parse_update({'on_end': 'default'}, current, True,
                                'virtual:instance')['on_end'] == 'delete'


def test_update_once_started_only_grows_amount():
    assert request.parse_update({'amount': 4}, _current(), True,
                                'virtual:instance')['amount'] == 4
    for change in ({'amount': 2}, {'vcpus': 1}, {'resource_properties': '["==", "$a", "b"]'}):
        with pytest.raises(exceptions.CantUpdateParameter):
            request.parse_update(change, _current(), True, 'virtual:instance')


def test_flavor_request_and_update():
    # An integer id (the command line sends flavor_id=1 as a number), as Nova's
    # flavorRef takes it; a boolean is not one.
    assert request.parse_flavor({'flavor_id': 1, 'amount': 1})[0] == '1'
    with pytest.raises(exceptions.MalformedParameter):
        request.parse_flavor({'flavor_id': True, 'amount': 1})
    assert request.parse_flavor({'flavor_id': ' m1 ', 'amount': '2',
                                 'affinity': None}) == ('m1', 2, 'replace', 'delete')
    with pytest.raises(exceptions.MissingParameter):
        request.parse_flavor({'amount': 2})
    with pytest.raises(exceptions.InvalidInput):
        request.parse_flavor({'flavor_id': 'm1', 'amount': 2, 'affinity': 'True'})
    current = _current(source_flavor_id='m1')
    assert request.parse_update({'amount': 7, 'flavor_id': 'm1'}, current, False,
                                'flavor:instance')['amount'] == 7
    with pytest.raises(exceptions.CantUpdateParameter):
        request.parse_update({'flavor_id': 'm2'}, current, False, 'flavor:instance')
