"""Leases of hosts starting and ending with the event engine, against the memory
driver and the Nova HTTP double: aggregates, servers, retries, deletion."""

import datetime

import pytest
import sqlalchemy as sa

from climate import exceptions
from climate.common import timeutils
from climate.db import models
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import wait_for


def seconds(count):
    return timeutils.utcnow() + datetime.timedelta(seconds=count)


def aggregate_hosts(env, name):
    aggregate = env.driver.find_aggregate(name)
    return None if aggregate is None else sorted(aggregate.hosts)


def status(env, lease):
    return env.service.get_lease(env.ctx, lease['id'])['status']


def allocation_count(env):
    table = models.ComputeHostAllocation.__table__
    with env.database.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def run_start_and_end(env, add_server):
    names = env.add_hypervisors(3)
    for name in names:
        env.enroll(name)
    env.start_engine()
    lease = env.create('now', seconds(6), min=2)
    reservation_id = lease['reservations'][0]['id']
    wait_for(lambda: status(env, lease) == 'ACTIVE', timeout=20)
    aggregate = env.driver.find_aggregate(reservation_id)
    assert aggregate.availability_zone == f'climate_{reservation_id}'
    assert aggregate.metadata == {'climate:owner': 'p1'}
    reserved = aggregate_hosts(env, reservation_id)
    assert len(reserved) == 2
    assert aggregate_hosts(env, 'freepool') == sorted(set(names) - set(reserved))
    add_server('user-vm', reserved[0])
    wait_for(lambda: status(env, lease) == 'TERMINATED', timeout=30)
    assert env.driver.find_aggregate(reservation_id) is None
    assert aggregate_hosts(env, 'freepool') == sorted(names)
    assert env.driver.list_servers_on_host(reserved[0]) == []
    ended = env.service.get_lease(env.ctx, lease['id'])
    assert ended['reservations'][0]['status'] == 'deleted'
    assert allocation_count(env) == 0
    return lease


def test_start_and_end_with_the_memory_driver(hosts_env):
    run_start_and_end(hosts_env, hosts_env.driver.add_server)


def test_start_and_end_with_the_nova_api(nova_hosts_env):
    env = nova_hosts_env
    run_start_and_end(env, env.fake_nova.add_server)


def test_nova_failure_mid_start_is_retried_and_aggregates_end_right(nova_hosts_env):
    env = nova_hosts_env
    names = env.add_hypervisors(3)
    for name in names:
        env.enroll(name)
    env.start_engine()
    lease = env.create(seconds(3), seconds(3600), min=3)
    reservation_id = lease['reservations'][0]['id']
    # Taking hosts out of the freepool fails twice, after Nova did it (the answer
    # is lost): the start fails with hosts half moved, and is retried.
    freepool_id = env.driver.find_aggregate('freepool').id
    env.fake_nova.inject(status=503, method='POST',
                         path=rf'/os-aggregates/{freepool_id}/action$', times=2,
                         after=True)
    wait_for(lambda: status(env, lease) == 'ACTIVE', timeout=30)
    assert not env.fake_nova.faults
    assert aggregate_hosts(env, reservation_id) == sorted(names)
    assert aggregate_hosts(env, 'freepool') == []
    events = models.Event.__table__
    with env.database.engine.connect() as conn:
        attempts = conn.execute(sa.select(events.c.attempts).where(
            events.c.lease_id == lease['id'],
            events.c.event_type == 'start_lease')).scalar()
    # The retry takes the first host out of the freepool by the aggregate's id
    # without reading it first: Nova refuses (404, already out), which the second
    # injected failure meets, and the start goes on.
    assert attempts == 2
    env.service.delete_lease(env.ctx, lease['id'])
    assert aggregate_hosts(env, 'freepool') == sorted(names)
    assert env.driver.find_aggregate(reservation_id) is None


def test_memory_driver_failure_mid_start_is_retried(hosts_env):
    env = hosts_env
    names = env.add_hypervisors(2)
    for name in names:
        env.enroll(name)
    env.faults.inject_failure('remove_host', times=1, after=True)
    env.faults.inject_failure('add_host', times=1)
    env.start_engine()
    lease = env.create('now', seconds(3600), min=2)
    wait_for(lambda: status(env, lease) == 'ACTIVE', timeout=30)
    assert aggregate_hosts(env, lease['reservations'][0]['id']) == sorted(names)
    assert aggregate_hosts(env, 'freepool') == []


def test_deleting_leases_returns_hosts(hosts_env):
    env = hosts_env
    names = env.add_hypervisors(2)
    for name in names:
        env.enroll(name)
    env.start_engine()
    active = env.create('now', seconds(3600))
    later = env.create(seconds(7200), seconds(3 * 3600))
    wait_for(lambda: status(env, active) == 'ACTIVE', timeout=20)
    (reserved,) = aggregate_hosts(env, active['reservations'][0]['id'])
    env.driver.add_server('user-vm', reserved)
    # The aggregate of a reservation is made when it starts, not at create.
    assert env.driver.find_aggregate(later['reservations'][0]['id']) is None
    env.service.delete_lease(env.ctx, active['id'])
    env.service.delete_lease(env.ctx, later['id'])
    assert aggregate_hosts(env, 'freepool') == sorted(names)
    for lease in (active, later):
        assert env.driver.find_aggregate(lease['reservations'][0]['id']) is None
    assert env.driver.list_servers_on_host(reserved) == []
    assert allocation_count(env) == 0


def test_before_end_snapshot_and_leaving_servers(hosts_env):
    env = hosts_env
    env.conf.set_override('on_end', 'leave', group='physical:host')
    (name,) = env.add_hypervisors(1)
    env.enroll(name)
    env.start_engine()
    start = timeutils.utcnow_minute()
    body = {'name': 'snap', 'start_date': 'now', 'end_date': seconds(8).isoformat(),
            'before_end_date': seconds(4).isoformat(),
            'reservations': [{'resource_type': 'physical:host', 'min': 1, 'max': 1,
                              'before_end': 'snapshot'}]}
    lease = env.service.create_lease(env.ctx, body)
    assert lease['start_date'] == timeutils.format_date(start)
    wait_for(lambda: status(env, lease) == 'ACTIVE', timeout=20)
    server = env.driver.add_server('user-vm', name)
    wait_for(lambda: status(env, lease) == 'TERMINATED', timeout=30)
    assert env.faults.call_count('create_image') == 1
    assert [i['name'] for i in env.driver._images.values()] == ['reserved_user-vm']
    # on_end = leave: the server stays, the host is back in the freepool.
    assert [s.id for s in env.driver.list_servers_on_host(name)] == [server]
    assert aggregate_hosts(env, 'freepool') == [name]


def test_updating_an_active_reservation(hosts_env):
    env = hosts_env
    names = env.add_hypervisors(3)
    for name in names:
        env.enroll(name)
    env.start_engine()
    lease = env.create('now', seconds(1800), min=1, max=1)
    reservation_id = lease['reservations'][0]['id']
    wait_for(lambda: status(env, lease) == 'ACTIVE', timeout=20)
    (held,) = env.allocated_hosts(lease)
    end = timeutils.utcnow_minute() + 2 * HOUR
    # The other two hosts are taken later, overlapping any extension past `end`.
    blocker = env.create(end, end + HOUR, min=2)
    extended = env.service.update_lease(env.ctx, lease['id'],
                                        {'end_date': end.isoformat()})
    assert extended['status'] == 'ACTIVE'
    assert env.allocated_hosts(lease) == [held]
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        env.service.update_lease(env.ctx, lease['id'],
                                 {'end_date': (end + HOUR).isoformat()})
    assert status(env, lease) == 'ACTIVE'
    env.service.delete_lease(env.ctx, blocker['id'])
    grown = env.service.update_lease(env.ctx, lease['id'], {'reservations': [
        {'id': reservation_id, 'min': 1, 'max': 3}]})
    assert grown['status'] == 'ACTIVE'
    assert len(env.allocated_hosts(lease)) == 3
    assert held in env.allocated_hosts(lease)
    # Hosts added to a running reservation join its aggregate at once.
    assert aggregate_hosts(env, reservation_id) == sorted(names)
    assert aggregate_hosts(env, 'freepool') == []
    with pytest.raises(exceptions.CantUpdateParameter):
        env.service.update_lease(env.ctx, lease['id'], {'reservations': [
            {'id': reservation_id, 'min': 1, 'max': 1}]})
    assert len(env.allocated_hosts(lease)) == 3
    assert env.overlapping_pairs() == []
