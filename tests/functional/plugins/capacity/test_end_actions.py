"""What the end of a capacity reservation does to the servers booted with its flavor
(``on_end``), on the simulated Nova (memory driver): ``delete`` by default, or
``snapshot_and_delete`` (an image per server, saved before the server is deleted),
per reservation or through ``[virtual:instance] capacity_on_end``; a bad value is
400 naming the field."""

import datetime

import pytest

from climate import exceptions
from climate.common import timeutils
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import future
from tests.functional.plugins.physical_host.conftest import wait_for

sqlite_only = pytest.mark.parametrize('database', ['sqlite'], indirect=True)


def _lease_with_servers(env, count=2, **fields):
    """An ACTIVE capacity lease ending in a few seconds with ``count`` servers."""
    for name in env.add_hypervisors(count, vcpus=4, memory_mb=8192, local_gb=100):
        env.enroll(name)
    env.driver.action_delay = 0
    end = timeutils.utcnow() + datetime.timedelta(seconds=4)
    lease = env.capacity('now', end, amount=count, **fields)
    flavor = lease['reservations'][0]['flavor_id']
    env.start_engine()
    wait_for(lambda: _status(env, lease) == 'ACTIVE')
    owner = env.driver.acting_for(env.driver.create_trust(env.ctx))
    booted = [owner.create_server(f'vm{i}', flavor, 'image') for i in range(count)]
    wait_for(lambda: all(env.driver.get_server(s.id).status == 'ACTIVE'
                         for s in booted))
    return lease, booted


def _status(env, lease):
    return env.service.get_lease(env.admin, lease['id'])['status']


def _images(env):
    return {i['name'] for i in env.driver._images.values()}


def _ended(env, lease, booted):
    wait_for(lambda: _status(env, lease) == 'TERMINATED', timeout=20)
    flavor = lease['reservations'][0]['flavor_id']
    assert env.driver.list_servers_with_flavor(flavor) == []
    assert env.driver.find_aggregate(lease['reservations'][0]['id']) is None


@sqlite_only
def test_by_default_the_end_deletes_the_servers_without_snapshots(capacity_env):
    env = capacity_env
    lease, booted = _lease_with_servers(env)
    assert lease['reservations'][0]['on_end'] == 'delete'
    _ended(env, lease, booted)
    assert _images(env) == set()


@sqlite_only
def test_snapshot_and_delete_saves_an_image_per_server_then_deletes(capacity_env):
    env = capacity_env
    lease, booted = _lease_with_servers(env, on_end='snapshot_and_delete')
    assert lease['reservations'][0]['on_end'] == 'snapshot_and_delete'
    _ended(env, lease, booted)
    images = [i for i in env.driver._images.values()]
    assert sorted(i['name'] for i in images) == ['climate-snapshot-vm0',
                                                 'climate-snapshot-vm1']
    assert {i['status'] for i in images} == {'active'}
    assert {i['owner'] for i in images} == {'p1'}     # made through the trust


@sqlite_only
def test_the_operator_default_applies_to_reservations_without_on_end(capacity_env):
    env = capacity_env
    env.conf.set_override('capacity_on_end', 'snapshot_and_delete',
                          group='virtual:instance')
    lease, booted = _lease_with_servers(env, count=1, on_end='default')
    assert lease['reservations'][0]['on_end'] == 'snapshot_and_delete'
    _ended(env, lease, booted)
    assert _images(env) == {'climate-snapshot-vm0'}


@sqlite_only
@pytest.mark.parametrize('value', ['shelve', 'explode', 3])
def test_a_bad_on_end_is_400_naming_the_field(capacity_env, value):
    env = capacity_env
    env.add_hypervisors(1, vcpus=4, memory_mb=8192, local_gb=100)
    start = future()
    with pytest.raises(exceptions.ClimateException) as refused:
        env.capacity(start, start + HOUR, on_end=value)
    assert refused.value.code == 400
    assert 'on_end' in str(refused.value)


@sqlite_only
def test_on_end_may_change_by_update_and_a_bad_one_changes_nothing(capacity_env):
    env = capacity_env
    name = env.add_hypervisors(1, vcpus=4, memory_mb=8192, local_gb=100)[0]
    env.enroll(name)
    start = future()
    lease = env.capacity(start, start + HOUR)
    reservation = {'id': lease['reservations'][0]['id']}
    updated = env.service.update_lease(env.ctx, lease['id'], {'reservations': [
        dict(reservation, on_end='snapshot_and_delete')]})
    assert updated['reservations'][0]['on_end'] == 'snapshot_and_delete'
    with pytest.raises(exceptions.ClimateException) as refused:
        env.service.update_lease(env.ctx, lease['id'], {'reservations': [
            dict(reservation, on_end='nope')]})
    assert refused.value.code == 400
    shown = env.service.get_lease(env.ctx, lease['id'])['reservations'][0]
    assert shown['on_end'] == 'snapshot_and_delete'


@sqlite_only
def test_a_flavor_instance_reservation_takes_on_end_too(capacity_env):
    env = capacity_env
    name = env.add_hypervisors(1, vcpus=4, memory_mb=8192, local_gb=100)[0]
    env.enroll(name)
    env.driver.add_flavor('m1', 'm1', vcpus=1, ram=512, disk=10)
    start = future()
    lease = env.service.create_lease(env.ctx, {
        'name': 'flavored', 'start_date': start.isoformat(),
        'end_date': (start + HOUR).isoformat(),
        'reservations': [{'resource_type': 'flavor:instance', 'flavor_id': 'm1',
                          'amount': 1, 'on_end': 'snapshot_and_delete'}]})
    reservation = lease['reservations'][0]
    assert reservation['on_end'] == 'snapshot_and_delete'
    updated = env.service.update_lease(env.ctx, lease['id'], {'reservations': [
        {'id': reservation['id'], 'on_end': 'delete'}]})
    assert updated['reservations'][0]['on_end'] == 'delete'
