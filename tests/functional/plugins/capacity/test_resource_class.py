"""Placement as the guard of a capacity reservation, on the simulated Nova (memory
driver, whose Placement refuses a boot without a free unit of the class its flavor
asks for): the units of ``CUSTOM_RESERVATION_<ID>`` follow the reservation's slices
from the start (growing with ``amount``, moving with healing) and are gone, with the
class, at the end; a node that is gone is no error."""

import pytest

from climate.compute import placement
from climate.plugins.instance_capacity import nova_side
from tests.functional.plugins.capacity.test_lifecycle import _boot
from tests.functional.plugins.capacity.test_lifecycle import _hosts
from tests.functional.plugins.capacity.test_lifecycle import _seconds
from tests.functional.plugins.capacity.test_lifecycle import _status
from tests.functional.plugins.capacity.test_lifecycle import _update
from tests.functional.plugins.physical_host.conftest import wait_for

sqlite_only = pytest.mark.parametrize('database', ['sqlite'], indirect=True)


def _units(driver, resource_class):
    """``{node: total}`` of the class over every node."""
    return {node: inventory[resource_class]['total']
            for node in ('compute-0', 'compute-1', 'compute-2')
            for inventory in [driver.inventory(node)] if resource_class in inventory}


def test_resource_class_name_is_the_upper_cased_reservation_id():
    assert placement.resource_class('3f2a-bc9d-01') == 'CUSTOM_RESERVATION_3F2A_BC9D_01'


@sqlite_only
def test_units_follow_the_reservation_and_only_placement_refuses_extra_boots(
        capacity_env):
    env = capacity_env
    _hosts(env, 2)
    env.driver.action_delay = 0
    lease = env.capacity('now', _seconds(8), amount=2, vcpus=1, affinity=True)
    reservation_id = lease['reservations'][0]['id']
    resource_class = placement.resource_class(reservation_id)
    assert _units(env.driver, resource_class) == {}       # nothing before the start
    env.start_engine()
    wait_for(lambda: _status(env, lease) == 'ACTIVE')
    assert len(env.slices(lease)) == 1
    assert _units(env.driver, resource_class) == {
        h.hypervisor_hostname: 2 for h in env.driver.list_hypervisors()
        if h.service_host in env.driver.find_aggregate(reservation_id).hosts}
    owner = env.driver.acting_for(env.driver.create_trust(env.ctx))
    flavor = owner.get_flavor(reservation_id)
    assert flavor.extra_specs[f'resources:{resource_class}'] == '1'
    # Pretend ClimateFilter's count missed servers (as when boots race): the slots
    # allow 10, Placement still gives the third boot no unit.
    (host,) = env.driver.find_aggregate(reservation_id).hosts
    env.driver.set_aggregate_metadata(reservation_id,
                                      {nova_side.SLOTS_PREFIX + host: '10'})
    booted = [_boot(owner, f'vm-{i}', reservation_id) for i in range(3)]
    assert [s.status for s in booted] == ['ACTIVE', 'ACTIVE', 'ERROR']
    assert 'No valid host' in booted[2].fault
    # Growing while active adds a unit where the new instance goes.
    _update(env, lease, amount=3)
    assert sum(_units(env.driver, resource_class).values()) == 3
    assert _boot(owner, 'vm-3', reservation_id).status == 'ACTIVE'
    wait_for(lambda: _status(env, lease) == 'TERMINATED', timeout=30)
    assert _units(env.driver, resource_class) == {}
    assert resource_class not in env.driver.resource_classes()


def test_a_node_leaving_with_servers_offers_nothing_new_until_the_end(conf):
    """Healing moved a slice off a node whose server still holds its unit: the unit
    stays (Placement cannot drop it) but no new boot gets one; the end removes it."""
    from climate.compute import memory
    conf.set_override('hypervisors', [], 'compute_memory')
    driver = memory.MemoryDriver(conf)
    driver.action_delay = 0
    for name in ('compute-0', 'compute-1'):
        driver.add_hypervisor(name)
    side = nova_side.NovaSide(driver)
    lease = {'project_id': driver.project_id, 'trust_id': None}
    request = {'vcpus': 1, 'memory_mb': 256, 'disk_gb': 1, 'affinity': None}
    side.prepare(lease, 'r-1', request)
    side.start(lease, 'r-1', request, {'compute-0': 1}, {'compute-0': 1})
    resource_class = placement.resource_class('r-1')
    server = _boot(driver, 'vm', 'r-1')
    assert server.status == 'ACTIVE' and server.host == 'compute-0'
    side.hold_exactly('r-1', {'compute-1': 1}, {'compute-1': 1})
    assert driver.inventory('compute-0')[resource_class] == {'total': 1, 'reserved': 1}
    assert driver.inventory('compute-1')[resource_class] == {'total': 1, 'reserved': 0}
    metadata = driver.find_aggregate('r-1').metadata
    assert metadata[nova_side.UNITS_PREFIX + 'compute-0'] == '0'
    assert nova_side.SLOTS_PREFIX + 'compute-0' not in metadata
    # The one unit left is on compute-1; a node that vanished is no error at the end.
    assert _boot(driver, 'vm-2', 'r-1').host == 'compute-1'
    side.end(lease, 'r-1', request)
    assert driver.inventory('compute-0') == {} and driver.inventory('compute-1') == {}
    assert resource_class not in driver.resource_classes()
    assert driver.find_aggregate('r-1') is None
    driver.remove_reservation_inventory('compute-9', resource_class)   # no error
