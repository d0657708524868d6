"""An admin's reallocation of a host and a maintenance window move the host's
capacity slices with its allocations, all or nothing (409), or degrade them when
forced (``physical:host`` calls the capacity plugins' move in its transaction)."""

import pytest

from climate import exceptions
from tests.functional.plugins.capacity.test_healing import aggregate
from tests.functional.plugins.capacity.test_healing import heal
from tests.functional.plugins.capacity.test_healing import name_of
from tests.functional.plugins.capacity.test_healing import shown
from tests.functional.plugins.capacity.test_lifecycle import _hosts
from tests.functional.plugins.capacity.test_lifecycle import _seconds
from tests.functional.plugins.capacity.test_lifecycle import _status
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import future
from tests.functional.plugins.physical_host.conftest import wait_for

sqlite_only = pytest.mark.parametrize('database', ['sqlite'], indirect=True)


def _window(start, end):
    return {'start_date': start.strftime('%Y-%m-%d %H:%M'),
            'end_date': end.strftime('%Y-%m-%d %H:%M')}


@sqlite_only
def test_reallocation_moves_the_hosts_slices(capacity_env):
    env = capacity_env
    _hosts(env, 2)
    start = future()
    lease = env.capacity(start, start + HOUR, amount=2, vcpus=2, affinity=True)
    [old] = env.slices(lease)
    env.plugin.reallocate(env.admin, old)
    [(new, count)] = env.slices(lease).items()
    assert new != old and count == 2
    healing = shown(env, lease)['reservations'][0]['healing']
    assert [r['action'] for r in healing] == ['reallocated']
    assert env.violations() == []


@sqlite_only
def test_reallocation_that_cannot_fit_a_slice_changes_nothing(capacity_env):
    env = capacity_env
    _hosts(env, 2)
    start = future()
    lease = env.capacity(start, start + HOUR, amount=2, vcpus=2, affinity=True)
    [old] = env.slices(lease)
    # The other host keeps room for one instance only.
    other = env.capacity(start, start + HOUR, amount=1, vcpus=2, name='other',
                         resource_properties=f'["!=", "$hypervisor_hostname", '
                         f'"{name_of(env, old)}"]')
    before = env.slices(other)
    with pytest.raises(exceptions.NotEnoughHostsAvailable) as raised:
        env.plugin.reallocate(env.admin, old)
    assert lease['id'] in str(raised.value)
    assert env.slices(lease) == {old: 2} and env.slices(other) == before
    assert shown(env, lease)['reservations'][0]['healing'] == []
    assert shown(env, lease)['degraded'] is False


@sqlite_only
def test_maintenance_window_moves_overlapping_slices_at_once(capacity_env):
    env = capacity_env
    _hosts(env, 2)
    start = future()
    lease = env.capacity(start, start + HOUR, amount=1, vcpus=2)
    [old] = env.slices(lease)
    made = env.plugin.create_maintenance(env.admin, old,
                                         _window(start, start + HOUR))
    [new] = env.slices(lease)
    assert new != old
    assert [(m['lease_id'], m['new_host']) for m in made['moved']] == [
        (lease['id'], str(new))]
    assert env.violations() == []


@sqlite_only
def test_maintenance_window_refused_then_forced_degrades(capacity_env):
    env = capacity_env
    _hosts(env, 2)
    start = future()
    lease = env.capacity(start, start + HOUR, amount=1, vcpus=4)
    [old] = env.slices(lease)
    # The other host is full.
    other = env.capacity(start, start + HOUR, amount=1, vcpus=4, name='other',
                         resource_properties=f'["!=", "$hypervisor_hostname", '
                         f'"{name_of(env, old)}"]')
    window = _window(start, start + HOUR)
    with pytest.raises(exceptions.NotEnoughHostsAvailable) as raised:
        env.plugin.create_maintenance(env.admin, old, window)
    assert lease['id'] in str(raised.value)
    assert env.plugin.list_maintenances(env.admin, old) == []
    made = env.plugin.create_maintenance(env.admin, old, dict(window, force=True))
    assert [d['lease_id'] for d in made['degraded']] == [lease['id']]
    assert env.slices(lease) == {old: 1}
    assert shown(env, lease)['degraded'] is True
    assert shown(env, lease)['reservations'][0]['missing_resources'] is True
    # Room comes back: the next healing pass moves the slice off the window.
    env.service.delete_lease(env.ctx, other['id'])
    heal(env)
    [new] = env.slices(lease)
    assert new != old and shown(env, lease)['degraded'] is False


@pytest.mark.parametrize('database', ['sqlite', 'mysql'], indirect=True)
def test_reallocating_an_active_reservation_moves_its_aggregate(capacity_env):
    env = capacity_env
    _hosts(env, 2)
    env.start_engine()
    lease = env.capacity('now', _seconds(3600), amount=1, vcpus=2)
    wait_for(lambda: _status(env, lease) == 'ACTIVE', timeout=20)
    [old] = env.slices(lease)
    env.plugin.reallocate(env.admin, old, lease_id=lease['id'])
    [new] = env.slices(lease)
    assert new != old
    hosts, slots = aggregate(env, lease)
    assert hosts == [name_of(env, new)] and slots == {name_of(env, new): '1'}
    assert shown(env, lease)['reservations'][0]['resources_changed'] is True
    assert env.violations() == []


@sqlite_only
def test_a_slice_that_cannot_move_keeps_the_hosts_allocations_too(capacity_env):
    env = capacity_env
    _hosts(env, 2)
    start = future()
    whole = env.create(start + 3 * HOUR, start + 4 * HOUR)
    [host] = env.allocated_hosts(whole)
    name = name_of(env, host)
    lease = env.capacity(start, start + HOUR, vcpus=4, resource_properties=(
        f'["==", "$hypervisor_hostname", "{name}"]'))
    env.capacity(start, start + HOUR, vcpus=4, name='other', resource_properties=(
        f'["!=", "$hypervisor_hostname", "{name}"]'))
    with pytest.raises(exceptions.NotEnoughHostsAvailable) as raised:
        env.plugin.reallocate(env.admin, host)
    assert str(raised.value).count(lease['id']) == 1
    assert whole['id'] not in str(raised.value)
    # The whole-host allocation could have moved; it did not either.
    assert env.allocated_hosts(whole) == [host]
    assert env.slices(lease) == {host: 1}
