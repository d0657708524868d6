"""Host failures under capacity reservations: their slices move to healthy hosts
with room (by affinity), an active reservation's aggregate follows, what cannot move
degrades the lease until it can, and racing managers move each slice once.

Failures are made as Nova shows them, on the memory driver's nova-compute services
(``set_service``); healing runs as the manager's host monitor runs it
(``check_hosts`` then ``heal``), called directly so the test knows when it ran.
"""

import concurrent.futures
import threading

import pytest
import sqlalchemy as sa

from climate import exceptions
from climate.compute import placement
from climate.db import models
from climate.manager import host_monitor
from climate.plugins.virtual_instance import plugin as instance_plugin
from tests.functional.plugins.capacity.test_lifecycle import _hosts
from tests.functional.plugins.capacity.test_lifecycle import _seconds
from tests.functional.plugins.capacity.test_lifecycle import _status
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import future
from tests.functional.plugins.physical_host.conftest import wait_for

sqlite_only = pytest.mark.parametrize('database', ['sqlite'], indirect=True)
SLOTS = 'climate:slots:'


def heal(env, plugin=None):
    plugin = plugin or env.virtual
    plugin.check_hosts(env.admin)
    return plugin.heal(env.admin)


def name_of(env, host_id):
    return env.plugin.get_host(env.admin, host_id)['hypervisor_hostname']


def fail(env, host_id):
    env.driver.set_service(name_of(env, host_id), state='down')


def shown(env, lease):
    return env.service.get_lease(env.ctx, lease['id'])


def aggregate(env, lease):
    found = env.driver.find_aggregate(lease['reservations'][0]['id'])
    return sorted(found.hosts), {k[len(SLOTS):]: v for k, v in found.metadata.items()
                                 if k.startswith(SLOTS)}


def records(env):
    table = models.HealingRecord.__table__
    with env.database.engine.connect() as conn:
        return conn.execute(sa.select(table.c.reservation_id, table.c.failed_host_id,
                                      table.c.new_host_id, table.c.action)).all()


class Notified:
    def __init__(self, plugin):
        self.outcomes = []
        plugin.healing_listener = lambda context, outcomes: self.outcomes.extend(
            outcomes)

    def actions(self):
        return [o.action for o in self.outcomes]


@sqlite_only
def test_pending_lease_on_a_failed_host_starts_on_a_distinct_replacement(
        capacity_env):
    env = capacity_env
    _hosts(env, 3)
    env.conf.set_override('healing_interval', 0, group='physical:host')
    lease = env.capacity(_seconds(2), _seconds(3600), amount=2, vcpus=2,
                         affinity=False)
    held = env.slices(lease)
    failed, kept = sorted(held)
    fail(env, failed)
    notified = Notified(env.virtual)
    heal(env)
    now_held = env.slices(lease)
    # Anti-affinity: not onto the other held host, though it has room for one more.
    assert failed not in now_held and kept in now_held
    assert len(now_held) == 2 and set(now_held.values()) == {1}
    assert notified.actions() == ['replaced']
    reservation = shown(env, lease)['reservations'][0]
    assert [r['action'] for r in reservation['healing']] == ['replaced']
    assert reservation['healing'][0]['failed_host'] == str(failed)
    assert reservation['missing_resources'] is False
    env.start_engine()
    wait_for(lambda: _status(env, lease) == 'ACTIVE', timeout=20)
    hosts, slots = aggregate(env, lease)
    assert hosts == sorted(name_of(env, h) for h in now_held)
    assert slots == {name_of(env, h): '1' for h in now_held}
    assert env.violations() == []


@sqlite_only
def test_affinity_slices_move_together_or_not_at_all(capacity_env):
    env = capacity_env
    _hosts(env, 3)
    env.conf.set_override('healing_interval', 0, group='physical:host')
    start = future()
    lease = env.capacity(start, start + HOUR, amount=2, vcpus=2, affinity=True)
    [failed] = env.slices(lease)
    # The two other hosts each keep room for one instance only.
    other = env.capacity(start, start + HOUR, amount=2, vcpus=2, name='other',
                         resource_properties=f'["!=", "$hypervisor_hostname", '
                         f'"{name_of(env, failed)}"]', affinity=False)
    fail(env, failed)
    heal(env)
    assert env.slices(lease) == {failed: 2}
    assert shown(env, lease)['degraded'] is True
    reason = shown(env, lease)['reservations'][0]['healing'][-1]['reason']
    assert 'no healthy host has room for its 2 instance(s) on one host' in reason
    # Room for both on one host: they move there together.
    env.service.delete_lease(env.ctx, other['id'])
    heal(env)
    [(new_host, count)] = env.slices(lease).items()
    assert new_host != failed and count == 2
    assert shown(env, lease)['degraded'] is False


@sqlite_only
def test_active_lease_aggregate_swaps_the_failed_host_for_the_replacement(
        capacity_env):
    env = capacity_env
    _hosts(env, 3)
    env.start_engine()
    lease = env.capacity('now', _seconds(3600), amount=2, vcpus=4)
    wait_for(lambda: _status(env, lease) == 'ACTIVE', timeout=20)
    held = env.slices(lease)
    failed = sorted(held)[0]
    fail(env, failed)
    heal(env)
    now_held = env.slices(lease)
    assert failed not in now_held and sum(now_held.values()) == 2
    hosts, slots = aggregate(env, lease)
    assert hosts == sorted(name_of(env, h) for h in now_held)
    assert name_of(env, failed) not in slots
    assert slots == {name_of(env, h): str(n) for h, n in now_held.items()}
    # Placement's units moved with the slices (no server held one on the failed host).
    resource_class = placement.resource_class(lease['reservations'][0]['id'])
    units = {name_of(env, h): env.driver.inventory(name_of(env, h)).get(
        resource_class, {}).get('total') for h in set(held) | set(now_held)}
    assert units == {name_of(env, h): now_held.get(h) for h in set(held) | set(now_held)}
    reservation = shown(env, lease)['reservations'][0]
    assert reservation['resources_changed'] is True
    assert reservation['missing_resources'] is False
    # Back up: nothing moves back.
    env.driver.set_service(name_of(env, failed), state='up')
    heal(env)
    assert env.slices(lease) == now_held
    assert env.violations() == []


@sqlite_only
def test_no_room_degrades_then_whole_again_when_room_frees(capacity_env):
    env = capacity_env
    env.conf.set_override('healing_interval', 0, group='physical:host')
    _hosts(env, 2)
    start = future()
    lease = env.capacity(start, start + HOUR, vcpus=4, name='mine')
    other = env.capacity(start, start + HOUR, vcpus=4, name='other')
    [failed] = env.slices(lease)
    notified = Notified(env.virtual)
    fail(env, failed)
    heal(env)
    assert shown(env, lease)['degraded'] is True
    assert shown(env, lease)['reservations'][0]['missing_resources'] is True
    assert env.slices(lease) == {failed: 1}
    heal(env)
    assert notified.actions() == ['degraded']
    env.service.delete_lease(env.ctx, other['id'])
    heal(env)
    after = shown(env, lease)
    assert after['degraded'] is False
    assert after['reservations'][0]['missing_resources'] is False
    assert failed not in env.slices(lease)
    assert notified.actions() == ['degraded', 'replaced', 'restored']
    assert [r['action'] for r in after['reservations'][0]['healing']] == [
        'degraded', 'replaced', 'restored']


@sqlite_only
def test_a_failed_host_gets_no_new_slices(capacity_env):
    env = capacity_env
    ids = _hosts(env, 2)
    fail(env, ids[0])
    heal(env)
    start = future()
    lease = env.capacity(start, start + HOUR, vcpus=4)
    assert list(env.slices(lease)) == [ids[1]]
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        env.capacity(start, start + HOUR, vcpus=4)


@pytest.mark.parametrize('database', ['mysql', 'postgresql'], indirect=True)
def test_two_managers_never_heal_the_same_slice_twice(capacity_env):
    env = capacity_env
    env.conf.set_override('healing_interval', 0, group='physical:host')
    ids = _hosts(env, 10)
    start = future()
    leases = [env.capacity(start + i * HOUR, start + (i + 1) * HOUR, amount=3,
                           vcpus=2, affinity=False, name=f'l{i}')
              for i in range(4)]
    failing = sorted({h for lease in leases for h in env.slices(lease)})[:2]
    affected = {(lease['reservations'][0]['id'], h) for lease in leases
                for h in env.slices(lease) if h in failing}
    assert affected
    for host_id in failing:
        fail(env, host_id)
    second = instance_plugin.VirtualInstancePlugin(env.conf, compute_driver=env.driver)
    barrier = threading.Barrier(2)

    def run(plugin):
        barrier.wait()
        plugin.check_hosts(env.admin)
        barrier.wait()
        return plugin.heal(env.admin)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, [env.virtual, second]))
    moved = [o for outcomes in results for o in outcomes if o.action == 'replaced']
    replaced = [r for r in records(env) if r.action == 'replaced']
    assert len(moved) == len(replaced) == len(affected)
    assert {(r.reservation_id, r.failed_host_id) for r in replaced} == affected
    for lease in leases:
        held = env.slices(lease)
        assert sum(held.values()) == 3 and not set(held) & set(failing)
    assert env.violations() == []
    assert set(ids) - set(failing)


@sqlite_only
def test_a_maintenance_window_moves_the_slices_when_it_is_created(capacity_env):
    env = capacity_env
    _hosts(env, 2)
    start = future()
    lease = env.capacity(start, start + HOUR, vcpus=4)
    [busy] = env.slices(lease)
    env.plugin.create_maintenance(env.admin, busy, {
        'start_date': (start - HOUR).isoformat(), 'end_date': (start + HOUR).isoformat()})
    assert busy not in env.slices(lease)
    [record] = shown(env, lease)['reservations'][0]['healing']
    assert record['action'] == 'reallocated'
    assert record['reason'].startswith(f'host {busy} is in maintenance from ')
    assert [o.action for o in heal(env)] == []


@pytest.mark.parametrize('database', ['mysql', 'postgresql'], indirect=True)
def test_creates_racing_healing_never_overfill_a_host(capacity_env):
    env = capacity_env
    env.conf.set_override('healing_interval', 0, group='physical:host')
    ids = _hosts(env, 8)
    start = future()
    leases = [env.capacity(start, start + HOUR, vcpus=4, name=f'l{i}')
              for i in range(4)]
    failing = [h for lease in leases[:2] for h in env.slices(lease)]
    for host_id in failing:
        fail(env, host_id)
    env.virtual.check_hosts(env.admin)
    barrier = threading.Barrier(4)

    def create(i):
        barrier.wait()
        try:
            return env.capacity(start, start + HOUR, vcpus=4, name=f'new{i}')
        except exceptions.NotEnoughHostsAvailable:
            return None

    def healing():
        barrier.wait()
        return env.virtual.heal(env.admin)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        created = [pool.submit(create, i) for i in range(3)]
        healed = pool.submit(healing)
        created = [f.result() for f in created if f.result() is not None]
        healed = [o for o in healed.result() if o.action == 'replaced']
    # 6 healthy hosts of one instance each, 2 leases kept and 5 wanted: every
    # healthy host is used once, and what was refused could not fit.
    assert len(created) + len(healed) == len(ids) - len(failing) - 2
    assert env.violations() == []
    on_failed = [lease for lease in leases[:2] if set(env.slices(lease)) & set(failing)]
    assert all(shown(env, lease)['degraded'] for lease in on_failed)
    assert len(on_failed) == 2 - len(healed)


@sqlite_only
def test_keep_policy_degrades_and_recovers_with_the_same_host(capacity_env):
    env = capacity_env
    env.conf.set_override('healing_interval', 0, group='physical:host')
    _hosts(env, 3)
    start = future()
    lease = env.capacity(start, start + HOUR, amount=2, vcpus=2,
                         on_host_failure='keep')
    assert lease['reservations'][0]['on_host_failure'] == 'keep'
    held = env.slices(lease)
    failed = sorted(held)[0]
    fail(env, failed)
    heal(env)
    assert env.slices(lease) == held
    assert shown(env, lease)['degraded'] is True
    env.driver.set_service(name_of(env, failed), state='up')
    heal(env)
    after = shown(env, lease)
    assert after['degraded'] is False
    assert [r['action'] for r in after['reservations'][0]['healing']] == [
        'degraded', 'restored']
    with pytest.raises(exceptions.MalformedParameter):
        env.capacity(start, start + HOUR, on_host_failure='sometimes')


@sqlite_only
def test_the_host_monitor_heals_capacity_and_notifies(capacity_env):
    env = capacity_env
    for name, value in (('enable_polling_monitor', True), ('polling_interval', 1),
                        ('healing_interval', 0)):
        env.conf.set_override(name, value, group='physical:host')
    _hosts(env, 3)
    start = future()
    lease = env.capacity(start, start + HOUR, vcpus=2)
    env.driver.add_flavor('m1', 'm1', vcpus=2, ram=512, disk=10)
    flavored = env.service.create_lease(env.ctx, {
        'name': 'f', 'start_date': start.isoformat(),
        'end_date': (start + HOUR).isoformat(),
        'reservations': [{'resource_type': 'flavor:instance', 'flavor_id': 'm1',
                          'amount': 1}]})
    [failed] = env.slices(lease)
    assert env.slices(flavored) == {failed: 1}     # best fit: the sliced host
    monitor = host_monitor.HostMonitor(env.conf, env.service, {
        'physical:host': env.plugin, 'virtual:instance': env.virtual,
        'flavor:instance': env.flavor})
    sent = []
    env.service.notifier.notify = lambda ctx, event_type, view: sent.append(
        (event_type, view() if callable(view) else view))
    monitor.start()
    try:
        fail(env, failed)
        wait_for(lambda: failed not in env.slices(lease), timeout=10)
        wait_for(lambda: failed not in env.slices(flavored), timeout=10)
        wait_for(lambda: len(sent) == 2, timeout=5)
    finally:
        monitor.stop()
    event_type, payload = sent[0]
    assert event_type == 'lease.healing.replaced'
    assert payload['id'] == lease['id']
    assert payload['healing']['failed_host'] == str(failed)
    assert {e for e, _ in sent} == {'lease.healing.replaced'}
