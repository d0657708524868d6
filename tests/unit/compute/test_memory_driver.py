"""The in-memory driver's own features: its configuration, its seeding hooks and its
simulated trusts (with ``climate.compute.fixture.ComputeFaults`` on it)."""

import threading
import time

import pytest

from climate import context
from climate.compute import exceptions
from climate.compute import fixture as compute_fixture
from climate.compute import memory


@pytest.fixture
def driver(conf):
    return memory.MemoryDriver(conf)


@pytest.fixture
def faults(driver):
    with compute_fixture.ComputeFaults(driver) as faults:
        yield faults


def test_default_hypervisors_and_freepool(driver):
    names = sorted(h.hypervisor_hostname for h in driver.list_hypervisors())
    assert names == ['compute-1', 'compute-2', 'compute-3']
    assert driver.find_aggregate('freepool').hosts == ()


def test_hypervisors_are_configurable(conf):
    conf.set_override('hypervisors', ['big:vcpus=64:memory_mb=262144:local_gb=2000',
                                      'node-1.example.org:service_host=node-1'],
                      'compute_memory')
    conf.set_override('aggregate_freepool_name', 'spare', 'nova')
    driver = memory.MemoryDriver(conf)
    big = driver.get_hypervisor('big')
    assert (big.vcpus, big.memory_mb, big.local_gb) == (64, 262144, 2000)
    assert driver.get_hypervisor('node-1.example.org').service_host == 'node-1'
    assert driver.find_aggregate('spare') is not None
    assert driver.find_aggregate('freepool') is None


def test_default_flavors_are_nova_classics_and_configurable(conf):
    """So that flavor:instance reservations can be tried on the quickstart."""
    flavor = memory.MemoryDriver(conf).get_flavor('2')
    assert (flavor.name, flavor.vcpus, flavor.ram, flavor.disk, flavor.is_public) == (
        'm1.small', 1, 2048, 20, True)
    conf.set_override('flavors', ['g1:gpu.large:vcpus=16:ram=65536:disk=100'],
                      'compute_memory')
    driver = memory.MemoryDriver(conf)
    assert driver.get_flavor('g1').vcpus == 16
    with pytest.raises(exceptions.FlavorNotFound):
        driver.get_flavor('2')
    for bad in ('g1', 'g1:gpu', 'g1:gpu:vcpus=1:ram=2', 'g1:gpu:vcpus=x:ram=1:disk=1',
                ':gpu:vcpus=1:ram=1:disk=1', 'g1:gpu:vcpus=1:ram=1:disk=1:cpus=2'):
        conf.set_override('flavors', [bad], 'compute_memory')
        with pytest.raises(ValueError, match='compute_memory. flavors'):
            memory.MemoryDriver(conf)


def test_hypervisor_ids_survive_a_restart(conf):
    first = memory.MemoryDriver(conf).get_hypervisor('compute-1').id
    assert memory.MemoryDriver(conf).get_hypervisor('compute-1').id == first
    assert memory.MemoryDriver(conf).get_hypervisor('compute-2').id != first


@pytest.mark.parametrize('item, complaint', [
    ('host1:vcpus=eight', 'vcpus must be an integer'),
    ('host1:cores=8', "'cores=8'"),
    ('host1:vcpus', "'vcpus'"),
    (':vcpus=8', 'empty host name'),
])
def test_bad_hypervisor_items_are_reported(conf, item, complaint):
    conf.set_override('hypervisors', [item], 'compute_memory')
    with pytest.raises(ValueError, match='compute_memory') as caught:
        memory.MemoryDriver(conf)
    assert complaint in str(caught.value)


def test_action_delay_is_configurable(conf):
    conf.set_override('action_delay', 0.3, 'compute_memory')
    driver = memory.MemoryDriver(conf)
    server_id = driver.add_server('vm-1', 'compute-1')
    driver.shelve_server(server_id)
    assert driver.get_server(server_id).task_state == 'shelving'
    time.sleep(0.35)
    assert driver.get_server(server_id).status == 'SHELVED_OFFLOADED'


def test_concurrent_moves_keep_aggregates_consistent(conf):
    hosts = [f'host-{i}' for i in range(20)]
    conf.set_override('hypervisors', hosts, 'compute_memory')
    driver = memory.MemoryDriver(conf)
    for host in hosts:
        driver.add_host('freepool', host)
    driver.ensure_aggregate('reservation-1', availability_zone='climate_r1')

    def move(host):
        for _ in range(20):
            driver.remove_host('freepool', host)
            driver.add_host('reservation-1', host)
            driver.remove_host('reservation-1', host)
            driver.add_host('freepool', host)

    threads = [threading.Thread(target=move, args=(host,)) for host in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(driver.find_aggregate('freepool').hosts) == sorted(hosts)
    assert driver.find_aggregate('reservation-1').hosts == ()


# --- trusts ----------------------------------------------------------------------------

def _user():
    return context.RequestContext(auth_token='token', user_id='user-b',
                                  project_id='project-b', roles=['member', 'reader'])


def test_trusts_hook_is_a_copy(driver):
    trust_id = driver.create_trust(_user())
    trusts = driver.trusts()
    assert trusts == {trust_id: {'project_id': 'project-b', 'user_id': 'user-b',
                                 'roles': ['member', 'reader']}}
    trusts[trust_id]['roles'].append('admin')
    trusts.clear()
    assert driver.trusts()[trust_id]['roles'] == ['member', 'reader']


def test_images_are_owned_by_the_drivers_project(driver):
    server_id = driver.add_server('vm-1', 'compute-1')
    assert driver.image_owner(driver.create_image(server_id, 'snap')) == \
        driver.project_id


def test_a_call_through_a_trust_does_not_change_who_other_threads_act_as(driver,
                                                                        faults):
    server_id = driver.add_server('vm-1', 'compute-1')
    other_id = driver.add_server('vm-2', 'compute-2')
    trusted = driver.acting_for(driver.create_trust(_user()))
    faults.inject_delay('create_image', 0.3, times=1)
    images = {}
    thread = threading.Thread(
        target=lambda: images.setdefault('trusted', trusted.create_image(server_id, 'a')))
    thread.start()
    time.sleep(0.05)    # the trusted call is in progress, acting as user-b
    images['plain'] = driver.create_image(other_id, 'b')
    thread.join()
    assert driver.image_owner(images['trusted']) == 'project-b'
    assert driver.image_owner(images['plain']) == driver.project_id


def test_hooks_see_calls_through_a_trust(driver, faults):
    trusted = driver.acting_for(driver.create_trust(_user()))
    faults.inject_delay('find_aggregate', 0.2, times=1)
    started = time.monotonic()
    trusted.find_aggregate('freepool')
    assert time.monotonic() - started >= 0.2
    faults.inject_failure('find_aggregate', retryable=False)
    with pytest.raises(exceptions.ComputeError):
        trusted.find_aggregate('freepool')
    assert faults.call_count('find_aggregate') == 2


def test_a_trusts_view_shares_the_drivers_settings_and_trusts(driver):
    trusted = driver.acting_for(driver.create_trust(_user()))
    driver.wait_timeout = 0.05
    server_id = driver.add_server('vm-1', 'compute-1')
    driver.action_delay = 10
    trusted.shelve_server(server_id)
    with pytest.raises(exceptions.ComputeTimeout):
        trusted.wait_for_server(server_id, 'SHELVED_OFFLOADED')
    other = trusted.create_trust(_user())
    trusted.delete_trust(other)
    assert other not in driver.trusts()
    assert trusted.acting_for(trusted.trust_id).get_server(server_id).id == server_id


def test_create_trust_may_fail_like_keystone(driver, faults):
    faults.inject_failure('create_trust')
    with pytest.raises(exceptions.ComputeError) as caught:
        driver.create_trust(_user())
    assert caught.value.retryable is True
    assert driver.trusts() == {}
