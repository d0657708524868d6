"""Blazar's host query language: what parses, what is refused, and how."""

import pytest

from climate import exceptions
from climate.plugins.physical_host import requirements as reqs
from climate.plugins.physical_host.requirements import Requirement


@pytest.mark.parametrize('empty', [None, '', '   ', '[]', []])
def test_empty_requirements(empty):
    assert reqs.parse('resource_properties', empty) == ()


def test_single_comparison_and_dollar_is_optional():
    assert reqs.parse('f', '[">=", "$vcpus", "4"]') == (Requirement('>=', 'vcpus', '4'),)
    assert reqs.parse('f', '["==", "gpu", "true"]') == (Requirement('==', 'gpu', 'true'),)


def test_and_of_comparisons_nested_and_implicit():
    text = '["and", [">=", "$vcpus", "4"], ["and", ["==", "$gpu", "true"]]]'
    assert reqs.parse('f', text) == (Requirement('>=', 'vcpus', '4'),
                                     Requirement('==', 'gpu', 'true'))
    assert reqs.parse('f', [['<', '$memory_mb', 4096], ['!=', '$rack', 'r1']]) == (
        Requirement('<', 'memory_mb', '4096'), Requirement('!=', 'rack', 'r1'))


@pytest.mark.parametrize('op', ['==', '=', '!=', '<', '<=', '>', '>='])
def test_every_operator(op):
    (parsed,) = reqs.parse('f', [op, '$x', 'y'])
    assert parsed.op == ('==' if op == '=' else op)


def test_values_become_text():
    assert reqs.parse('f', ['==', '$a', 3]) == (Requirement('==', 'a', '3'),)
    assert reqs.parse('f', ['==', '$a', 2.5]) == (Requirement('==', 'a', '2.5'),)
    assert reqs.parse('f', ['==', '$a', True]) == (Requirement('==', 'a', 'True'),)


@pytest.mark.parametrize('bad, fragment', [
    ('{"a": 1}', 'JSON list'),
    ('[">=", "$vcpus"', 'not valid JSON'),
    ('["~", "$vcpus", "4"]', 'unknown operator'),
    ('[">=", "$vcpus", "4", "5"]', 'a comparison is'),
    ('[">=", 4, "4"]', 'the name must be'),
    ('[">=", "$", "4"]', 'the name must be'),
    ('[">=", "$vcpus", null]', 'string or a number'),
    ('[">=", "$vcpus", ["4"]]', 'string or a number'),
    ('[">=", "$vcpus", "four"]', 'vcpus is a number'),
    ('["and", "x"]', '"and" takes lists'),
    ('"just text"', 'JSON list'),
])
def test_malformed_requirements_name_the_field(bad, fragment):
    with pytest.raises(exceptions.MalformedRequirements) as err:
        reqs.parse('hypervisor_properties', bad)
    assert err.value.code == 400
    assert 'hypervisor_properties' in err.value.message
    assert fragment in err.value.message


def test_numbers():
    assert reqs.as_number('10') == 10.0
    assert reqs.as_number(' -2.5 ') == -2.5
    assert reqs.as_number('1e3') == 1000.0
    for text in ('abc', '', 'nan', 'inf', '1.2.3', True, None, '0x10'):
        assert reqs.as_number(text) is None
    assert Requirement('<', 'gpus', '10').number == 10.0


def test_names_and_capability_names():
    parsed = reqs.parse('f', '["and", [">", "$vcpus", "2"], ["==", "$gpu", "x"]]')
    assert reqs.names(parsed) == {'vcpus', 'gpu'}
    assert reqs.capability_names(parsed) == {'gpu'}


@pytest.mark.parametrize('hostile, fragment', [
    ('[' * 900 + ']' * 900, 'nests more than 8 levels deep'),
    ('[' * 10000 + ']' * 10000, 'longer than 4096 characters'),
    ('["==", "$gpu", "' + 'x' * 5000 + '"]', 'longer than 4096 characters'),
    ('[{}, "$gpu", "true"]', 'the operator must be a string'),
    ('[["==", "$gpu", "1"], [{}, "$gpu", "1"]]', 'the operator must be a string'),
])
def test_hostile_requirements_are_a_short_400(hostile, fragment):
    with pytest.raises(exceptions.MalformedRequirements) as err:
        reqs.parse('resource_properties', hostile)
    assert fragment in err.value.message
    assert len(err.value.message) < 400


def test_an_already_decoded_deep_list_is_refused_without_recursion():
    deep = []
    for _ in range(10000):
        deep = [deep]
    with pytest.raises(exceptions.MalformedRequirements) as err:
        reqs.parse('hypervisor_properties', deep)
    assert 'nests more than 8 levels deep' in err.value.message
