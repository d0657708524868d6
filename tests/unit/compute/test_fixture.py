"""``climate.compute.fixture``: failures and delays of a compute driver's calls.

``ComputeFaults`` is tried on the in-memory driver (and, for calls through a trust, on
the Nova driver over ``FakeNova``); ``Faults`` alone as ``FakeNova`` uses it.
"""

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


def test_inject_failure_counts_down(driver, faults):
    faults.inject_failure('find_aggregate', times=2)
    for _ in range(2):
        with pytest.raises(exceptions.ComputeError) as caught:
            driver.find_aggregate('freepool')
        assert caught.value.retryable
    assert driver.find_aggregate('freepool') is not None
    assert faults.call_count('find_aggregate') == 3


def test_inject_failure_with_a_chosen_error(driver, faults):
    faults.inject_failure('get_hypervisor', error=exceptions.ComputeTimeout)
    with pytest.raises(exceptions.ComputeTimeout):
        driver.get_hypervisor('compute-1')


def test_inject_failure_after_the_call_keeps_its_effect(driver, faults):
    faults.inject_failure('add_host', after=True)
    with pytest.raises(exceptions.ComputeError):
        driver.add_host('freepool', 'compute-1')
    assert driver.find_aggregate('freepool').hosts == ('compute-1',)


def test_inject_delay_slows_calls_down(driver, faults):
    faults.inject_delay('find_aggregate', 0.2, times=1)
    started = time.monotonic()
    driver.find_aggregate('freepool')
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    driver.find_aggregate('freepool')
    assert time.monotonic() - started < 0.2


def test_a_slow_call_does_not_block_the_others(driver, faults):
    faults.inject_delay('list_servers_on_host', 0.5)
    thread = threading.Thread(target=driver.list_servers_on_host, args=('compute-1',))
    thread.start()
    time.sleep(0.05)
    started = time.monotonic()
    driver.find_aggregate('freepool')
    assert time.monotonic() - started < 0.3
    thread.join()


def test_clear_faults(driver, faults):
    faults.inject_failure('find_aggregate', times=5)
    faults.inject_delay('find_aggregate', 5)
    faults.clear_faults()
    assert driver.find_aggregate('freepool') is not None


def test_hooks_only_accept_driver_methods(driver, faults):
    with pytest.raises(ValueError):
        faults.inject_failure('add_hosts')


def test_cleanup_gives_the_driver_back_unchanged(driver):
    with compute_fixture.ComputeFaults(driver) as faults:
        faults.inject_failure('find_aggregate', times=5)
        assert type(driver) is not memory.MemoryDriver
        assert isinstance(driver, memory.MemoryDriver)
    assert type(driver) is memory.MemoryDriver
    assert driver.find_aggregate('freepool') is not None
    assert faults.call_count('find_aggregate') == 0


def test_every_driver_method_and_only_those_can_be_hooked():
    from climate.compute import base
    assert compute_fixture.HOOKABLE == set(base.ComputeDriver.__abstractmethods__) | {
        'create_trust', 'delete_trust', 'ensure_server_group', 'delete_server_group'}


def test_failures_apply_to_the_nova_drivers_calls_through_a_trust(fake_nova,
                                                                  nova_driver):
    fake_nova.add_hypervisor('compute-1')
    server_id = fake_nova.add_server('vm-1', 'compute-1', project_id='project-b')
    token = fake_nova.issue_user_token('user-b', 'project-b', ['member'])
    user = context.RequestContext(auth_token=token, user_id='user-b',
                                  project_id='project-b', roles=['member'])
    with compute_fixture.ComputeFaults(nova_driver) as faults:
        trusted = nova_driver.acting_for(nova_driver.create_trust(user))
        faults.inject_failure('get_server', retryable=False)
        with pytest.raises(exceptions.ComputeError):
            trusted.get_server(server_id)
        # The copy acting for the user still acts for the user.
        assert trusted.get_server(server_id).project_id == 'project-b'
        assert faults.call_count('get_server') == 2


def test_faults_match_keys_with_a_predicate():
    plan = compute_fixture.Faults()
    plan.fail(lambda key: key[0] == 'POST', lambda key: KeyError(key), times=2)
    assert plan.call(('GET', '/a'), lambda: 'done') == 'done'
    for _ in range(2):
        with pytest.raises(KeyError):
            plan.call(('POST', '/a'), lambda: 'done')
    assert len(plan) == 0
    assert plan.call(('POST', '/a'), lambda: 'done') == 'done'
    assert plan.call_count(('POST', '/a')) == 3
