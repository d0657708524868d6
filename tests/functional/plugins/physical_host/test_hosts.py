"""Host administration through the plugin's RPC methods, on every database."""

import pytest

from climate import exceptions
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import future


def freepool_hosts(env):
    return sorted(env.driver.find_aggregate('freepool').hosts)


def test_enroll_by_name_or_id_copies_inventory_and_joins_freepool(hosts_env):
    env = hosts_env
    env.driver.add_hypervisor('node-a', vcpus=16, memory_mb=65536, local_gb=500,
                              service_host='svc-a')
    hypervisor_id = env.driver.add_hypervisor('node-b')
    env.driver.delete_aggregate('freepool')  # created again when missing
    host = env.enroll('node-a', gpu=True, gpus=4, rack='r1')
    assert host['id'] == '1'
    assert host['hypervisor_hostname'] == 'node-a'
    assert host['service_name'] == 'svc-a'
    assert (host['vcpus'], host['memory_mb'], host['local_gb']) == (16, 65536, 500)
    assert host['hypervisor_type'] == 'QEMU' and host['availability_zone'] == 'nova'
    assert host['reservable'] is True
    assert (host['gpu'], host['gpus'], host['rack']) == ('True', '4', 'r1')
    by_id = env.plugin.create_host(env.admin, {'id': hypervisor_id, 'reservable': 'false'})
    assert by_id['hypervisor_hostname'] == 'node-b' and by_id['reservable'] is False
    assert freepool_hosts(env) == ['node-b', 'svc-a']
    assert [h['id'] for h in env.plugin.list_hosts(env.admin)] == ['1', '2']
    assert env.plugin.get_host(env.admin, '1') == host


def test_enrollment_errors(hosts_env):
    env = hosts_env
    env.add_hypervisors(2)
    env.driver.add_server('vm', 'compute-1')
    with pytest.raises(exceptions.HostNotFound) as err:
        env.enroll('nowhere')
    assert err.value.code == 404
    with pytest.raises(exceptions.HostHavingServers) as err:
        env.enroll('compute-1')
    assert err.value.code == 409
    with pytest.raises(exceptions.ExtraCapabilityTooLong) as err:
        env.plugin.create_host(env.admin, {'name': 'compute-0', 'x' * 65: 'v'})
    assert err.value.code == 400
    with pytest.raises(exceptions.InvalidInput) as err:
        env.enroll('compute-0', vcpus=64)
    assert 'vcpus is a host field' in err.value.message
    with pytest.raises(exceptions.MissingParameter):
        env.plugin.create_host(env.admin, {'gpu': 'true'})
    with pytest.raises(exceptions.InvalidInput):
        env.enroll('compute-0', nested={'a': 1})
    env.enroll('compute-0', **{'y' * 64: 'ok'})
    with pytest.raises(exceptions.Conflict) as err:
        env.enroll('compute-0')
    assert err.value.code == 409 and 'already enrolled' in err.value.message
    assert freepool_hosts(env) == ['compute-0']
    for bad in ('nope', '0', '999'):
        with pytest.raises(exceptions.HostNotFound):
            env.plugin.get_host(env.admin, bad)


def test_update_capabilities_and_reservable(hosts_env):
    env = hosts_env
    (host,) = env.enroll_many(1, gpu='false')
    with pytest.raises(exceptions.InvalidInput) as err:
        env.plugin.update_host(env.admin, host['id'], {})
    assert err.value.message == 'No data to update'
    updated = env.plugin.update_host(env.admin, host['id'],
                                     {'gpu': 'true', 'ssd': 2, 'reservable': False})
    assert (updated['gpu'], updated['ssd'], updated['reservable']) == ('true', '2', False)
    removed = env.plugin.update_host(env.admin, host['id'],
                                     {'ssd': None, 'reservable': 'true'})
    assert 'ssd' not in removed and removed['reservable'] is True
    with pytest.raises(exceptions.MalformedParameter):
        env.plugin.update_host(env.admin, host['id'], {'reservable': 'perhaps'})
    with pytest.raises(exceptions.HostNotFound):
        env.plugin.update_host(env.admin, '42', {'gpu': 'x'})


def test_unreservable_hosts_are_not_allocated(hosts_env):
    env = hosts_env
    first, second = env.enroll_many(2)
    env.plugin.update_host(env.admin, first['id'], {'reservable': False})
    start = future()
    lease = env.create(start, start + HOUR)
    assert env.allocated_hosts(lease) == [int(second['id'])]
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        env.create(start, start + HOUR)


def test_capability_required_by_a_reservation_cannot_change(hosts_env):
    env = hosts_env
    (host,) = env.enroll_many(1, gpu='true', rack='r1')
    start = future()
    env.create(start, start + HOUR, resource_properties='["==", "$gpu", "true"]')
    with pytest.raises(exceptions.CantUpdateParameter) as err:
        env.plugin.update_host(env.admin, host['id'], {'gpu': 'false'})
    assert err.value.code == 409 and 'gpu' in err.value.message
    # Unchanged values and other capabilities may be written.
    env.plugin.update_host(env.admin, host['id'], {'gpu': 'true', 'rack': 'r2'})


def test_delete_refused_while_allocated_or_running_servers(hosts_env):
    env = hosts_env
    first, second = env.enroll_many(2, gpu='true')
    start = future()
    lease = env.create(start, start + HOUR)
    busy = str(env.allocated_hosts(lease)[0])
    idle = first['id'] if busy == second['id'] else second['id']
    with pytest.raises(exceptions.CantDeleteHost) as err:
        env.plugin.delete_host(env.admin, busy)
    assert err.value.code == 409
    idle_name = env.plugin.get_host(env.admin, idle)['service_name']
    env.driver.add_server('stray', idle_name)
    with pytest.raises(exceptions.HostHavingServers):
        env.plugin.delete_host(env.admin, idle)
    env.driver.delete_server(env.driver.list_servers_on_host(idle_name)[0].id)
    assert env.plugin.delete_host(env.admin, idle) is None
    assert idle_name not in freepool_hosts(env)
    with pytest.raises(exceptions.HostNotFound):
        env.plugin.get_host(env.admin, idle)
    env.service.delete_lease(env.ctx, lease['id'])
    env.plugin.delete_host(env.admin, busy)
    assert env.plugin.list_hosts(env.admin) == []


def test_resource_properties_listing_and_privacy(hosts_env):
    env = hosts_env
    env.add_hypervisors(3)
    env.enroll('compute-0', gpu='true', rack='r1')
    env.enroll('compute-1', gpu='false', rack='r1')
    env.enroll('compute-2', secret='s')
    plugin, admin, user = env.plugin, env.admin, env.ctx
    assert plugin.list_properties(user) == [
        {'property': 'gpu'}, {'property': 'rack'}, {'property': 'secret'}]
    changed = plugin.update_property(admin, 'secret', {'private': True})
    assert changed['property_name'] == 'secret' and changed['private'] is True
    assert changed['resource_type'] == 'physical:host'
    assert plugin.list_properties(user, all=True) == [{'property': 'gpu'},
                                                     {'property': 'rack'}]
    assert plugin.list_properties(admin, detail='True', all='1') == [
        {'property': 'gpu', 'private': False, 'values': ['false', 'true']},
        {'property': 'rack', 'private': False, 'values': ['r1']},
        {'property': 'secret', 'private': True, 'values': ['s']}]
    assert plugin.list_properties(admin, detail='false') == [{'property': 'gpu'},
                                                            {'property': 'rack'}]
    with pytest.raises(exceptions.NotFound) as err:
        plugin.update_property(admin, 'nope', {'private': True})
    assert err.value.code == 404
    with pytest.raises(exceptions.InvalidInput):
        plugin.update_property(admin, 'gpu', {'private': True, 'name': 'x'})
    with pytest.raises(exceptions.MalformedParameter):
        plugin.update_property(admin, 'gpu', {'private': 'maybe'})


def test_allocation_listing(hosts_env):
    env = hosts_env
    hosts = env.enroll_many(3)
    start = future()
    first = env.create(start, start + HOUR, min=2)
    second = env.create(start + HOUR, start + 2 * HOUR, min=1)
    listed = env.plugin.list_allocations(env.admin)
    assert [entry['resource_id'] for entry in listed] == [h['id'] for h in hosts]
    reservations = [r for entry in listed for r in entry['reservations']]
    assert len(reservations) == 3
    entry = next(r for r in reservations if r['lease_id'] == second['id'])
    assert entry == {'id': second['reservations'][0]['id'], 'lease_id': second['id'],
                     'start_date': second['start_date'], 'end_date': second['end_date']}
    only_first = env.plugin.list_allocations(env.admin, lease_id=first['id'])
    assert len(only_first) == 3
    assert sum(len(e['reservations']) for e in only_first) == 2
    by_reservation = env.plugin.list_allocations(
        env.admin, reservation_id=second['reservations'][0]['id'])
    assert sum(len(e['reservations']) for e in by_reservation) == 1
    host_id = str(env.allocated_hosts(second)[0])
    one = env.plugin.get_allocation(env.admin, host_id)
    assert one['resource_id'] == host_id
    assert second['id'] in [r['lease_id'] for r in one['reservations']]
    assert env.plugin.get_allocation(env.admin, host_id, lease_id='none') == {
        'resource_id': host_id, 'reservations': []}
    with pytest.raises(exceptions.HostNotFound):
        env.plugin.get_allocation(env.admin, '77')


def test_hosts_and_allocations_come_in_pages(hosts_env):
    env = hosts_env
    hosts = env.enroll_many(3)
    ids = [h['id'] for h in hosts]
    start = future()
    lease = env.create(start, start + HOUR, min=3)
    first = env.plugin.list_hosts(env.admin, limit=2)
    assert [h['id'] for h in first] == ids[:2]
    rest = env.plugin.list_hosts(env.admin, limit=2, marker=first[-1]['id'])
    assert rest == [env.plugin.get_host(env.admin, ids[2])]
    page = env.plugin.list_allocations(env.admin, limit=1, marker=ids[0])
    assert [entry['resource_id'] for entry in page] == [ids[1]]
    assert [r['lease_id'] for r in page[0]['reservations']] == [lease['id']]
    narrowed = env.plugin.list_allocations(env.admin, lease_id=lease['id'], limit=2)
    assert [entry['resource_id'] for entry in narrowed] == ids[:2]
    assert env.plugin.list_allocations(env.admin, marker=ids[2]) == []
    for marker in ('99', 'nope', '0'):
        with pytest.raises(exceptions.InvalidInput, match=f'marker {marker} not found'):
            env.plugin.list_hosts(env.admin, marker=marker)
        with pytest.raises(exceptions.InvalidInput, match=f'marker {marker} not found'):
            env.plugin.list_allocations(env.admin, marker=marker)
