"""Host failures: monitoring, healing of pending and active leases, degradation and
recovery, the failure policy, and healing racing managers and lease creations.

The failures are made the way Nova shows them: the nova-compute service of a host is
disabled, forced down or down, in the Nova HTTP double (``set_service`` or Nova's own
``PUT /os-services/{id}``) or in the memory driver (``set_service``). Healing runs as
the manager's host monitor runs it (``check_hosts`` then ``heal``), called directly
where a test needs to know when it ran.
"""

import concurrent.futures
import re
import threading
import uuid

import kombu
from oslo_config import cfg
import oslo_messaging as messaging
import pytest
import sqlalchemy as sa

from climate import exceptions
from climate.common import timeutils
from climate.db import models
from climate.manager import host_monitor
from climate.plugins.physical_host import plugin as plugin_mod
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import future
from tests.functional.plugins.physical_host.conftest import wait_for
from tests.functional.plugins.physical_host.test_lifecycle import aggregate_hosts
from tests.functional.plugins.physical_host.test_lifecycle import seconds
from tests.functional.plugins.physical_host.test_lifecycle import status

# Nova's side and the monitor do not depend on the database: SQLite only. What races
# (healing against healing, and against creations) runs on every backend.
sqlite_only = pytest.mark.parametrize('database', ['sqlite'], indirect=True)


def host_name(env, host_id):
    return env.plugin.get_host(env.admin, host_id)['hypervisor_hostname']


def reservation(env, lease):
    return env.service.get_lease(env.ctx, lease['id'])['reservations'][0]


def heal(env):
    env.plugin.check_hosts(env.admin)
    return env.plugin.heal(env.admin)


def records(env, action=None):
    table = models.HealingRecord.__table__
    query = sa.select(table.c.reservation_id, table.c.failed_host_id,
                      table.c.new_host_id, table.c.action)
    if action:
        query = query.where(table.c.action == action)
    with env.database.engine.connect() as conn:
        return conn.execute(query).all()


class Notified:
    """Collects what the plugin reports (what the monitor turns into
    notifications)."""

    def __init__(self, plugin):
        self.outcomes = []
        plugin.healing_listener = lambda context, outcomes: self.outcomes.extend(
            outcomes)

    def actions(self):
        return [o.action for o in self.outcomes]


# Through the Nova HTTP double -----------------------------------------------------------

@sqlite_only
def test_host_failing_before_a_pending_lease_starts_is_replaced(nova_hosts_env):
    env = nova_hosts_env
    env.conf.set_override('healing_interval', 0, group='physical:host')
    for name in env.add_hypervisors(3):
        env.enroll(name)
    lease = env.create(seconds(2), seconds(3600), min=2)
    held = env.allocated_hosts(lease)
    failed = held[0]
    env.fake_nova.set_service(host_name(env, failed), status='disabled',
                              disabled_reason='disk failure')
    notified = Notified(env.plugin)
    heal(env)
    host = env.plugin.get_host(env.admin, failed)
    assert (host['status'], host['reservable']) == ('down', False)
    assert 'disabled (disk failure)' in host['status_reason']
    now_held = env.allocated_hosts(lease)
    assert failed not in now_held and len(now_held) == 2
    assert notified.actions() == ['replaced']
    shown = reservation(env, lease)
    assert [r['action'] for r in shown['healing']] == ['replaced']
    assert shown['healing'][0]['failed_host'] == str(failed)
    assert shown['missing_resources'] is False
    # The lease starts on the replacement, the failed host stays in the freepool.
    env.start_engine()
    wait_for(lambda: status(env, lease) == 'ACTIVE', timeout=20)
    reservation_id = lease['reservations'][0]['id']
    assert aggregate_hosts(env, reservation_id) == sorted(
        host_name(env, h) for h in now_held)
    assert host_name(env, failed) in aggregate_hosts(env, 'freepool')


@sqlite_only
def test_host_failing_during_an_active_lease_leaves_its_aggregate(nova_hosts_env):
    env = nova_hosts_env
    for name in env.add_hypervisors(3):
        env.enroll(name)
    env.start_engine()
    lease = env.create('now', seconds(3600), min=2)
    wait_for(lambda: status(env, lease) == 'ACTIVE', timeout=20)
    reservation_id = lease['reservations'][0]['id']
    failed = env.allocated_hosts(lease)[0]
    failed_name = host_name(env, failed)
    # Through Nova's API, as an operator would.
    service = env.driver._nova.services.list(host=failed_name, binary='nova-compute')[0]
    env.driver._nova.services.force_down(service.id, True)
    heal(env)
    held = env.allocated_hosts(lease)
    assert failed not in held and len(held) == 2
    assert aggregate_hosts(env, reservation_id) == sorted(host_name(env, h)
                                                          for h in held)
    assert failed_name in aggregate_hosts(env, 'freepool')
    shown = reservation(env, lease)
    assert shown['resources_changed'] is True
    assert shown['missing_resources'] is False
    # Back up: nothing moves back, the host is reservable again.
    env.driver._nova.services.force_down(service.id, False)
    heal(env)
    host = env.plugin.get_host(env.admin, failed)
    assert (host['status'], host['reservable'], host['status_reason']) == \
        ('up', True, None)
    assert env.allocated_hosts(lease) == held


# Through the memory driver ----------------------------------------------------------

def test_no_replacement_degrades_then_whole_again_when_a_host_frees(hosts_env):
    env = hosts_env
    env.conf.set_override('healing_interval', 0, group='physical:host')
    env.enroll_many(2)
    start = future()
    lease = env.create(start, start + HOUR, min=1, name='mine')
    other = env.create(start, start + HOUR, min=1, name='other')
    failed = env.allocated_hosts(lease)[0]
    notified = Notified(env.plugin)
    env.driver.set_service(host_name(env, failed), state='down')
    heal(env)
    shown = env.service.get_lease(env.ctx, lease['id'])
    assert shown['degraded'] is True
    assert shown['reservations'][0]['missing_resources'] is True
    assert env.allocated_hosts(lease) == [failed]
    degraded = shown['reservations'][0]['healing'][-1]
    assert degraded['action'] == 'degraded'
    assert 'no healthy host matching the reservation is free' in degraded['reason']
    # A second pass changes nothing and reports nothing new.
    heal(env)
    assert notified.actions() == ['degraded']
    # The other lease goes away: its host frees up and heals the first lease.
    env.service.delete_lease(env.ctx, other['id'])
    heal(env)
    shown = env.service.get_lease(env.ctx, lease['id'])
    assert shown['degraded'] is False
    assert shown['reservations'][0]['missing_resources'] is False
    assert failed not in env.allocated_hosts(lease)
    assert notified.actions() == ['degraded', 'replaced', 'restored']
    assert [r['action'] for r in shown['reservations'][0]['healing']] == [
        'degraded', 'replaced', 'restored']


@sqlite_only
def test_keep_policy_degrades_and_recovers_with_the_same_host(hosts_env):
    env = hosts_env
    env.conf.set_override('healing_interval', 0, group='physical:host')
    env.enroll_many(3)
    start = future()
    lease = env.create(start, start + HOUR, min=1, on_host_failure='keep')
    assert reservation(env, lease)['on_host_failure'] == 'keep'
    held = env.allocated_hosts(lease)
    name = host_name(env, held[0])
    env.driver.set_service(name, status='disabled')
    heal(env)
    assert env.allocated_hosts(lease) == held
    assert env.service.get_lease(env.ctx, lease['id'])['degraded'] is True
    env.driver.set_service(name, status='enabled')
    heal(env)
    shown = env.service.get_lease(env.ctx, lease['id'])
    assert shown['degraded'] is False
    assert [r['action'] for r in shown['reservations'][0]['healing']] == [
        'degraded', 'restored']


@sqlite_only
def test_a_failed_host_is_not_offered_to_new_leases(hosts_env):
    env = hosts_env
    env.enroll_many(2)
    env.driver.set_service('compute-0', forced_down=True)
    heal(env)
    start = future()
    lease = env.create(start, start + HOUR, min=1)
    assert host_name(env, env.allocated_hosts(lease)[0]) == 'compute-1'
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        env.create(start, start + HOUR, min=1)


@sqlite_only
def test_healing_horizon_leaves_later_allocations_for_later(hosts_env):
    env = hosts_env
    env.conf.set_override('healing_interval', 60, group='physical:host')
    env.enroll_many(2)
    soon_start = timeutils.utcnow() + HOUR / 4
    later_start = future()
    soon = env.create(soon_start, soon_start + HOUR, min=1, name='soon')
    later = env.create(later_start, later_start + HOUR, min=1, name='later',
                       hypervisor_properties=f'["==", "$hypervisor_hostname", '
                       f'"{host_name(env, env.allocated_hosts(soon)[0])}"]')
    failed = env.allocated_hosts(soon)[0]
    env.driver.set_service(host_name(env, failed), state='down')
    heal(env)
    assert env.allocated_hosts(soon) != [failed]
    # Outside the horizon: not touched yet (and not degraded).
    assert env.allocated_hosts(later) == [failed]
    assert env.service.get_lease(env.ctx, later['id'])['degraded'] is False


# Concurrency --------------------------------------------------------------------------

def test_two_managers_never_heal_the_same_allocation_twice(hosts_env):
    env = hosts_env
    env.conf.set_override('healing_interval', 0, group='physical:host')
    env.enroll_many(12)
    start = future()
    leases = [env.create(start + i * HOUR, start + (i + 1) * HOUR, min=4,
                         name=f'l{i}') for i in range(6)]
    failing = sorted({h for lease in leases for h in env.allocated_hosts(lease)})[:3]
    affected = sum(1 for lease in leases for h in env.allocated_hosts(lease)
                   if h in failing)
    for host_id in failing:
        env.driver.set_service(host_name(env, host_id), state='down')
    # A second manager: its own plugin over the same database and Nova. Both see
    # the failures; each is recorded (and acted on at once) by one of them.
    second = plugin_mod.PhysicalHostPlugin(env.conf, compute_driver=env.driver)
    barrier = threading.Barrier(2)

    def check(plugin):
        barrier.wait()
        return plugin.check_hosts(env.admin)[0]

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        noticed = list(pool.map(check, [env.plugin, second]))
    assert sorted(noticed[0] + noticed[1]) == failing

    def run(plugin):
        barrier.wait()
        return plugin.heal(env.admin)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, [env.plugin, second]))
    moved = [o for outcomes in results for o in outcomes if o.action == 'replaced']
    assert len(moved) == affected
    assert len(records(env, 'replaced')) == affected
    assert env.overlapping_pairs() == []
    for lease in leases:
        assert not set(env.allocated_hosts(lease)) & set(failing)


def test_concurrent_creates_during_healing_never_double_book(hosts_env):
    env = hosts_env
    env.conf.set_override('healing_interval', 0, group='physical:host')
    env.enroll_many(10)
    start = future()
    leases = [env.create(start, start + HOUR, min=1, name=f'l{i}') for i in range(4)]
    for lease in leases[:2]:
        env.driver.set_service(host_name(env, env.allocated_hosts(lease)[0]),
                               state='down')
    env.plugin.check_hosts(env.admin)
    barrier = threading.Barrier(5)

    def create(i):
        barrier.wait()
        try:
            return env.create(start, start + HOUR, min=1, name=f'new{i}')
        except exceptions.NotEnoughHostsAvailable:
            return None

    def healing():
        barrier.wait()
        return env.plugin.heal(env.admin)

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        created = [pool.submit(create, i) for i in range(4)]
        healed = pool.submit(healing)
        created = [f.result() for f in created]
        healed.result()
    # 8 healthy hosts: 4 leases and 4 new ones fit whatever the order.
    assert all(created)
    assert env.overlapping_pairs() == []
    assert not any(env.service.get_lease(env.ctx, lease['id'])['degraded']
                   for lease in leases)


# The manager's monitor ------------------------------------------------------------------

@sqlite_only
def test_polling_monitor_notices_a_failure_and_heals(hosts_env):
    env = hosts_env
    for name, value in (('enable_polling_monitor', True), ('polling_interval', 1),
                        ('healing_interval', 0)):
        env.conf.set_override(name, value, group='physical:host')
    env.enroll_many(3)
    start = future()
    lease = env.create(start, start + HOUR, min=1)
    failed = env.allocated_hosts(lease)[0]
    monitor = host_monitor.HostMonitor(env.conf, env.service,
                                       {'physical:host': env.plugin})
    sent = []
    env.service.notifier.notify = lambda ctx, event_type, view: sent.append(
        (event_type, view() if callable(view) else view))
    monitor.start()
    try:
        env.driver.set_service(host_name(env, failed), status='disabled')
        wait_for(lambda: failed not in env.allocated_hosts(lease), timeout=10)
        wait_for(lambda: sent, timeout=5)
    finally:
        monitor.stop()
    event_type, payload = sent[0]
    assert event_type == 'lease.healing.replaced'
    assert payload['id'] == lease['id']
    assert payload['healing']['failed_host'] == str(failed)



@sqlite_only
def test_reallocating_an_active_lease_moves_its_aggregate_or_changes_nothing(
        nova_hosts_env):
    env = nova_hosts_env
    for name in env.add_hypervisors(3):
        env.enroll(name)
    env.start_engine()
    lease = env.create('now', seconds(3600), min=2)
    wait_for(lambda: status(env, lease) == 'ACTIVE', timeout=20)
    reservation_id = lease['reservations'][0]['id']
    held = env.allocated_hosts(lease)
    spare = ({1, 2, 3} - set(held)).pop()
    blocker = env.create(seconds(1800), seconds(2400), min=1,
                         hypervisor_properties=f'["==", "$hypervisor_hostname", '
                         f'"{host_name(env, spare)}"]')
    # The spare host is taken later on: the active lease cannot move there.
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        env.plugin.reallocate(env.admin, str(held[0]), lease_id=lease['id'])
    assert env.allocated_hosts(lease) == held
    assert aggregate_hosts(env, reservation_id) == sorted(host_name(env, h)
                                                          for h in held)
    env.service.delete_lease(env.ctx, blocker['id'])
    allocation = env.plugin.reallocate(env.admin, str(held[0]), lease_id=lease['id'])
    assert allocation == {'resource_id': str(held[0]), 'reservations': [],
                          'maintenances': []}
    now_held = env.allocated_hosts(lease)
    assert sorted(now_held) == sorted([held[1], spare])
    assert aggregate_hosts(env, reservation_id) == sorted(host_name(env, h)
                                                          for h in now_held)
    assert host_name(env, held[0]) in aggregate_hosts(env, 'freepool')
    assert reservation(env, lease)['resources_changed'] is True


@sqlite_only
def test_notification_monitor_reads_nova_service_updates_over_rabbitmq(hosts_env,
                                                                       rabbit_url):
    env = hosts_env
    name = f'climate-test-{uuid.uuid4().hex[:8]}'
    for option, value in (('enable_notification_monitor', True),
                          ('notification_topics', [name]),
                          ('notification_exchange', name),
                          ('polling_interval', 60), ('healing_interval', 0)):
        env.conf.set_override(option, value, group='physical:host')
    env.enroll_many(3)
    start = future()
    lease = env.create(start, start + HOUR, min=1)
    failed = env.allocated_hosts(lease)[0]
    failed_name = host_name(env, failed)
    # Nova's side: a notifier on Nova's exchange, as nova-compute sends them.
    nova_conf = cfg.ConfigOpts()
    nova_conf([], project='nova', default_config_files=[])
    # The first transport registers the options; the second uses the exchange.
    messaging.get_notification_transport(nova_conf, url=rabbit_url).cleanup()
    nova_conf.set_override('control_exchange', name)
    nova_transport = messaging.get_notification_transport(nova_conf, url=rabbit_url)
    listen_transport = messaging.get_notification_transport(env.conf, url=rabbit_url)
    notifier = messaging.Notifier(nova_transport, publisher_id=f'nova-compute:{name}',
                                  driver='messagingv2', topics=[name])
    monitor = host_monitor.HostMonitor(env.conf, env.service,
                                       {'physical:host': env.plugin},
                                       transport=listen_transport)
    monitor.start()
    try:
        notifier.info({}, 'service.update', {
            'nova_object.name': 'ServiceStatusPayload', 'nova_object.data': {
                'host': failed_name, 'binary': 'nova-compute', 'disabled': True,
                'disabled_reason': 'replacing a disk', 'forced_down': False}})
        wait_for(lambda: failed not in env.allocated_hosts(lease), timeout=15)
        assert env.plugin.get_host(env.admin, failed)['status_reason'] == \
            'service disabled (replacing a disk)'
        notifier.info({}, 'service.update', {
            'nova_object.name': 'ServiceStatusPayload', 'nova_object.data': {
                'host': failed_name, 'binary': 'nova-compute', 'disabled': False,
                'forced_down': False}})
        wait_for(lambda: env.plugin.get_host(env.admin, failed)['status'] == 'up',
                 timeout=15)
    finally:
        monitor.stop()
        nova_transport.cleanup()
        listen_transport.cleanup()
        with kombu.Connection(re.sub(r'^rabbit://', 'amqp://', rabbit_url)) as conn:
            channel = conn.channel()
            for queue_name in (f'{name}.info', host_monitor.LISTENER_POOL):
                kombu.Queue(queue_name, channel=channel).delete()
            kombu.Exchange(name, channel=channel).delete()
