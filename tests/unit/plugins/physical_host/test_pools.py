"""Nova actions of the host plugin on the memory driver: moves, idempotency, servers."""

import pytest

from climate.compute import exceptions as compute_exc
from climate.compute import fixture as compute_fixture
from climate.compute import memory
from climate.plugins.physical_host import pools


@pytest.fixture
def driver(conf):
    conf.set_override('hypervisors', ['c1', 'c2', 'c3'], group='compute_memory')
    conf.set_override('poll_interval', 0.01, group='compute')
    conf.set_override('wait_timeout', 2, group='compute')
    return memory.MemoryDriver(conf)


@pytest.fixture
def faults(driver):
    with compute_fixture.ComputeFaults(driver) as faults:
        yield faults


@pytest.fixture
def host_pools(driver, conf):
    return pools.HostPools(driver, conf)


def hosts_of(driver, name):
    aggregate = driver.find_aggregate(name)
    return None if aggregate is None else sorted(aggregate.hosts)


def test_enroll_creates_a_missing_freepool(driver, host_pools):
    driver.delete_aggregate('freepool')
    host_pools.enroll('c1')
    host_pools.enroll('c1')
    assert hosts_of(driver, 'freepool') == ['c1']
    host_pools.withdraw('c1')
    host_pools.withdraw('c1')
    assert hosts_of(driver, 'freepool') == []


def test_take_and_give_back_are_idempotent(driver, host_pools):
    for host in ('c1', 'c2'):
        host_pools.enroll(host)
    for _ in range(2):
        host_pools.take('res-1', 'p1', ['c1', 'c2'])
    aggregate = driver.find_aggregate('res-1')
    assert aggregate.availability_zone == 'climate_res-1'
    assert aggregate.metadata == {'climate:owner': 'p1'}
    assert sorted(aggregate.hosts) == ['c1', 'c2']
    assert hosts_of(driver, 'freepool') == []
    for _ in range(2):
        host_pools.give_back('res-1', ['c1', 'c2'])
    assert driver.find_aggregate('res-1') is None
    assert hosts_of(driver, 'freepool') == ['c1', 'c2']


def test_a_host_is_never_in_no_pool_while_moving(driver, host_pools):
    host_pools.enroll('c1')
    seen = []
    original = driver.remove_host

    def remove_host(name, host):
        seen.append((hosts_of(driver, 'freepool'), hosts_of(driver, 'res-1')))
        return original(name, host)
    driver.remove_host = remove_host
    host_pools.take('res-1', 'p1', ['c1'])
    assert seen == [(['c1'], ['c1'])]


def test_failure_mid_take_then_retry_converges(driver, faults, host_pools):
    for host in ('c1', 'c2', 'c3'):
        host_pools.enroll(host)
    faults.inject_failure('add_host', times=1)
    faults.inject_failure('remove_host', times=1, after=True)
    for _ in range(3):
        try:
            host_pools.take('res-1', 'p1', ['c1', 'c2', 'c3'])
            break
        except compute_exc.ComputeError as error:
            assert error.retryable
    assert hosts_of(driver, 'res-1') == ['c1', 'c2', 'c3']
    assert hosts_of(driver, 'freepool') == []


def test_freepool_with_its_own_zone_moves_through_no_pool(driver, host_pools):
    driver.set_aggregate_metadata('freepool', {'availability_zone': 'pool-zone'})
    host_pools.enroll('c1')
    host_pools.take('res-1', 'p1', ['c1'])
    assert hosts_of(driver, 'res-1') == ['c1']
    assert hosts_of(driver, 'freepool') == []
    host_pools.give_back('res-1', ['c1'])
    assert hosts_of(driver, 'freepool') == ['c1']


def test_give_back_returns_hosts_found_only_in_the_aggregate(driver, host_pools):
    host_pools.enroll('c1')
    host_pools.take('res-1', 'p1', ['c1'])
    host_pools.give_back('res-1', [])
    assert hosts_of(driver, 'freepool') == ['c1']
    assert driver.find_aggregate('res-1') is None


def test_snapshot_once_per_server_even_when_retried(driver, faults, host_pools):
    first = driver.add_server('vm-1', 'c1')
    driver.add_server('vm-2', 'c2')
    faults.inject_failure('create_image', times=1, after=False)
    with pytest.raises(compute_exc.ComputeError):
        host_pools.snapshot_servers('res-1', ['c1', 'c2'])
    host_pools.snapshot_servers('res-1', ['c1', 'c2'])
    host_pools.snapshot_servers('res-1', ['c1', 'c2'])
    assert faults.call_count('create_image') == 3  # one failed, then one per server
    marked = driver.get_server(first).metadata
    assert list(marked) == ['climate:snapshot:res-1']
    assert sorted(i['name'] for i in driver._images.values()) == [
        'reserved_vm-1', 'reserved_vm-2']


def test_delete_servers_waits_until_gone(driver, host_pools, conf):
    driver.action_delay = 0.05
    driver.add_server('vm-1', 'c1', project_id='someone-else')
    driver.add_server('vm-2', 'c1')
    driver.add_server('vm-3', 'c3')
    deleted = host_pools.delete_servers(['c1', 'c2'])
    assert len(deleted) == 2
    assert driver.list_servers_on_host('c1') == []
    assert [s.name for s in driver.list_servers_on_host('c3')] == ['vm-3']
