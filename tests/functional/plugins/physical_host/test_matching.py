"""Which hosts a request gets: requirements, min/max, cleaning time, back-to-back
leases and the choice strategy, on every database."""

import datetime

import pytest

from climate import exceptions
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import future

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def four_hosts(hosts_env):
    """compute-0..3 with vcpus 4/8/16/32 and capabilities chosen to tell numeric
    from text comparison, and exact from case-insensitive or locale order."""
    env = hosts_env
    for name, vcpus in (('compute-0', 4), ('compute-1', 8), ('compute-2', 16),
                        ('compute-3', 32)):
        env.driver.add_hypervisor(name, vcpus=vcpus)
    env.enroll('compute-0', gpus='9', rack='a', label='B')
    env.enroll('compute-1', gpus='10', rack='b', label='a')
    env.enroll('compute-2', gpus='abc', rack='c')
    env.enroll('compute-3', rack='a10')
    return env


def matches(env, field, properties):
    """The host names a request with these properties gets when all are free."""
    start = future()
    try:
        lease = env.create(start, start + HOUR, min=1, max=4, **{field: properties})
    except exceptions.NotEnoughHostsAvailable:
        return set()
    try:
        hosts = {env.plugin.get_host(env.admin, str(h))['hypervisor_hostname'][-1]
                 for h in env.allocated_hosts(lease)}
    finally:
        env.service.delete_lease(env.ctx, lease['id'])
    return {int(h) for h in hosts}


CASES = [
    # Numbers compare as numbers ("9" < "10"); a non-number only differs.
    (['<', '$gpus', '10'], {0}),
    (['<=', '$gpus', '10'], {0, 1}),
    (['>', '$gpus', '9'], {1}),
    (['>=', '$gpus', 9], {0, 1}),
    (['==', '$gpus', '10.0'], {1}),
    (['=', '$gpus', '9'], {0}),
    (['!=', '$gpus', '10'], {0, 2}),
    # Text compares exactly, by code point, whatever the database's collation.
    (['==', '$rack', 'a'], {0}),
    (['!=', '$rack', 'a'], {1, 2, 3}),
    (['<', '$rack', 'b'], {0, 3}),
    (['<=', '$rack', 'b'], {0, 1, 3}),
    (['>', '$rack', 'a'], {1, 2, 3}),
    (['>=', '$rack', 'b'], {1, 2}),
    (['==', '$label', 'b'], set()),
    (['<', '$label', 'a'], {0}),
    # Host fields.
    (['>=', '$vcpus', '8'], {1, 2, 3}),
    (['<', '$vcpus', 8], {0}),
    (['==', '$vcpus', '16'], {2}),
    (['!=', '$vcpus', '16'], {0, 1, 3}),
    (['<=', '$vcpus', '16'], {0, 1, 2}),
    (['>', '$vcpus', '16'], {3}),
    (['==', '$hypervisor_hostname', 'compute-2'], {2}),
    (['>', '$hypervisor_hostname', 'compute-1'], {2, 3}),
    # Combinations.
    (['and', ['>=', '$vcpus', '8'], ['<', '$gpus', '11']], {1}),
    (['and', ['<', '$rack', 'b'], ['<=', '$vcpus', 4]], {0}),
    ([], {0, 1, 2, 3}),
]


def test_property_matching_every_operator(four_hosts):
    import json
    failures = []
    for properties, expected in CASES:
        for field in ('resource_properties', 'hypervisor_properties'):
            got = matches(four_hosts, field, json.dumps(properties))
            if got != expected:
                failures.append((field, properties, expected, got))
    assert not failures
    assert matches(four_hosts, 'resource_properties', '') == {0, 1, 2, 3}


def test_unknown_property_is_a_400_naming_it(four_hosts):
    start = future()
    with pytest.raises(exceptions.InvalidInput) as err:
        four_hosts.create(start, start + HOUR,
                          resource_properties='["==", "$gpu_model", "x"]')
    assert err.value.code == 400
    assert 'gpu_model' in err.value.message
    assert 'resource_properties' in err.value.message
    with pytest.raises(exceptions.MalformedRequirements) as err:
        four_hosts.create(start, start + HOUR,
                          hypervisor_properties='[">", "$vcpus", "many"]')
    assert 'hypervisor_properties' in err.value.message


def test_min_and_max(hosts_env):
    env = hosts_env
    env.enroll_many(4)
    start = future()
    first = env.create(start, start + HOUR, min=2, max=3)
    assert len(env.allocated_hosts(first)) == 3
    second = env.create(start, start + HOUR, min='1', max='2')
    assert len(env.allocated_hosts(second)) == 1
    with pytest.raises(exceptions.NotEnoughHostsAvailable) as err:
        env.create(start, start + HOUR, min=1)
    assert err.value.code == 409
    assert '0 free and matching' in err.value.message
    with pytest.raises(exceptions.InvalidRange):
        env.create(start, start + HOUR, min=3, max=2)
    with pytest.raises(exceptions.MalformedParameter):
        env.create(start, start + HOUR, min='bar', max='foo')
    with pytest.raises(exceptions.MissingParameter):
        env.service.create_lease(env.ctx, {
            'name': 'x', 'start_date': start.isoformat(),
            'end_date': (start + HOUR).isoformat(),
            'reservations': [{'resource_type': 'physical:host', 'min': 1}]})
    assert env.overlapping_pairs() == []


def test_back_to_back_leases_share_a_host(hosts_env):
    env = hosts_env
    env.enroll_many(1)
    start = future()
    env.create(start, start + HOUR)
    env.create(start + HOUR, start + 2 * HOUR)
    env.create(start - HOUR, start)
    for begin, end in ((start + 59 * MINUTE, start + 2 * HOUR),
                       (start - 2 * HOUR, start + MINUTE),
                       (start - HOUR, start + 3 * HOUR)):
        with pytest.raises(exceptions.NotEnoughHostsAvailable):
            env.create(begin, end)
    assert env.overlapping_pairs() == []


def test_cleaning_time_keeps_hosts_free_around_allocations(hosts_env):
    env = hosts_env
    env.conf.set_override('cleaning_time', 30)
    env.enroll_many(1)
    start = future()
    env.create(start, start + HOUR)
    for begin, end in ((start + HOUR, start + 2 * HOUR),
                       (start + 89 * MINUTE, start + 2 * HOUR),
                       (start - HOUR, start - 29 * MINUTE)):
        with pytest.raises(exceptions.NotEnoughHostsAvailable):
            env.create(begin, end)
    env.create(start + 90 * MINUTE, start + 2 * HOUR)
    env.create(start - HOUR, start - 30 * MINUTE)
    assert env.overlapping_pairs(datetime.timedelta(minutes=30)) == []


@pytest.mark.parametrize('strategy, sample, expected', [
    ('best_fit', 100, 'busy'), ('best_fit', 0, 'busy'), ('spread', 100, 'idle'),
    ('spread', 0, 'idle')])
def test_choice_strategy(hosts_env, strategy, sample, expected):
    env = hosts_env
    env.conf.set_override('host_selection', strategy, group='physical:host')
    env.conf.set_override('selection_sample', sample, group='physical:host')
    env.enroll_many(2)
    start = future()
    busy = env.allocated_hosts(env.create(start, start + HOUR))[0]
    for offset in range(3):
        begin = start + (offset + 1) * HOUR
        lease = env.create(begin, begin + HOUR)
        got = env.allocated_hosts(lease)[0]
        assert ('busy' if got == busy else 'idle') == expected
        env.service.delete_lease(env.ctx, lease['id'])


def test_random_strategy_uses_every_free_host(hosts_env):
    env = hosts_env
    env.conf.set_override('host_selection', 'random', group='physical:host')
    env.enroll_many(3)
    start = future()
    seen = set()
    for _ in range(30):
        lease = env.create(start, start + HOUR)
        seen.update(env.allocated_hosts(lease))
        env.service.delete_lease(env.ctx, lease['id'])
        if len(seen) == 3:
            break
    assert len(seen) == 3


def test_best_fit_prefers_the_tightest_free_block(hosts_env):
    env = hosts_env
    env.conf.set_override('selection_sample', 0, group='physical:host')
    hosts = [int(h['id']) for h in env.enroll_many(3)]
    start = future()
    # Host A is busy until start, host B until start - 1 h, host C never.
    first = env.create(start - 3 * HOUR, start)
    second = env.create(start - 3 * HOUR, start - HOUR)
    (a,), (b,) = env.allocated_hosts(first), env.allocated_hosts(second)
    lease = env.create(start, start + HOUR)
    assert env.allocated_hosts(lease) == [a]
    env.service.delete_lease(env.ctx, lease['id'])
    # Closed on both sides beats open on one: B gets a follower at start + 2 h.
    env.create(start + 2 * HOUR, start + 3 * HOUR, min=3)
    lease = env.create(start, start + HOUR, min=2)
    assert env.allocated_hosts(lease) == sorted([a, b])
    assert set(hosts) - {a, b}
