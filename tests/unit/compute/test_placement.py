"""The Nova driver's Placement calls over HTTP (``climate.compute.placement``).

Placement here is ``tests.fakes.placement_api`` served by ``FakeNova`` (found through
the catalog the fake Keystone returns); the real Placement is exercised by
``tests/integration/test_capacity_reservation.py``. Faked: Placement itself and the
generation conflicts (injected 409s, and real ones between threads on the fake's
generation check).
"""

import pytest

from climate.compute import exceptions
from climate.compute import placement
from tests.unit.compute.conftest import at_once

RC = 'CUSTOM_RESERVATION_R1'


@pytest.fixture
def world(fake_nova):
    fake_nova.add_hypervisor('compute-1')
    return fake_nova


def _child(world, node='compute-1', resource_class=RC):
    """The inventories of the reservation provider of the class on ``node``."""
    return world.placement.inventories_of(placement.provider_name(node, resource_class))


def test_units_go_on_a_child_of_the_compute_node_with_microversion_1_26(world,
                                                                       nova_driver):
    nova_driver.set_reservation_inventory('compute-1', RC, 2)
    root = world.placement.find('compute-1')
    child = world.placement.find(f'climate:{RC}@compute-1')
    assert child == placement.provider_uuid('compute-1', RC)
    assert world.placement.providers[child]['parent'] == root
    assert _child(world)[RC]['total'] == 2 and _child(world)[RC]['reserved'] == 0
    assert RC not in world.placement.inventories_of('compute-1')   # nova-compute's
    assert RC in world.placement.classes
    placement_requests = [r for r in world.requests if r[1].startswith('/placement/')]
    assert placement_requests and {r[3] for r in placement_requests} == {'1.26'}


def test_setting_the_same_total_again_changes_nothing(world, nova_driver):
    nova_driver.set_reservation_inventory('compute-1', RC, 2)
    puts = len(world.requests_to('PUT', '/inventories$'))
    nova_driver.set_reservation_inventory('compute-1', RC, 2)
    assert len(world.requests_to('PUT', '/inventories$')) == puts


def test_each_reservation_has_its_own_provider_per_node(world, nova_driver):
    nova_driver.set_reservation_inventory('compute-1', RC, 2)
    nova_driver.set_reservation_inventory('compute-1', 'CUSTOM_RESERVATION_R2', 1)
    nova_driver.set_reservation_inventory('compute-1', RC, 3)
    assert {k: v['total'] for k, v in _child(world).items()} == {RC: 3}
    assert {k: v['total'] for k, v in _child(
        world, resource_class='CUSTOM_RESERVATION_R2').items()} == {
        'CUSTOM_RESERVATION_R2': 1}
    nova_driver.remove_reservation_inventory('compute-1', RC)
    assert _child(world, resource_class='CUSTOM_RESERVATION_R2')


def test_a_generation_conflict_is_retried_on_the_fresh_state(world, nova_driver):
    world.inject(status=409, method='PUT', path='/inventories$', times=2)
    nova_driver.set_reservation_inventory('compute-1', RC, 2)
    assert _child(world)[RC]['total'] == 2
    assert len(world.requests_to('PUT', '/inventories$')) == 3


def test_endless_conflicts_end_in_a_retryable_error(world, nova_driver):
    world.inject(status=409, method='PUT', path='/inventories$', times=100)
    with pytest.raises(exceptions.ComputeError) as caught:
        nova_driver.set_reservation_inventory('compute-1', RC, 2)
    assert caught.value.retryable and caught.value.status_code == 409


def test_concurrent_writers_of_one_reservation_agree(world, nova_driver):
    """Two managers repeating the same step at once (a retried event): one makes
    the provider, the other finds it; both PUTs end with the same inventory."""
    _, errors = at_once(
        lambda: nova_driver.set_reservation_inventory('compute-1', RC, 2), 6)
    assert errors == []
    assert _child(world)[RC]['total'] == 2
    assert len([p for p in world.placement.providers.values()
                if p['name'].startswith('climate:')]) == 1


def test_removing_the_units_deletes_the_child_provider(world, nova_driver):
    nova_driver.set_reservation_inventory('compute-1', RC, 2)
    assert nova_driver.remove_reservation_inventory('compute-1', RC) is True
    assert _child(world) is None
    assert world.placement.find('compute-1') is not None
    # Again, and for a node Placement does not know: no error.
    assert nova_driver.remove_reservation_inventory('compute-1', RC) is True
    assert nova_driver.remove_reservation_inventory('gone-node', RC) is True


def test_units_in_use_are_blocked_then_removed_once_free(world, nova_driver):
    nova_driver.set_reservation_inventory('compute-1', RC, 2)
    child = placement.provider_uuid('compute-1', RC)
    world.placement.allocate(child, RC, 1)
    assert nova_driver.remove_reservation_inventory('compute-1', RC) is False
    assert _child(world)[RC]['reserved'] == _child(world)[RC]['total'] == 2
    world.placement.allocate(child, RC, 0)     # the server was deleted
    assert nova_driver.remove_reservation_inventory('compute-1', RC) is True
    assert _child(world) is None


def test_units_on_an_unknown_node_are_refused(world, nova_driver):
    with pytest.raises(exceptions.HypervisorNotFound):
        nova_driver.set_reservation_inventory('no-such-node', RC, 1)


def test_deleting_the_class_sweeps_units_left_on_any_node(world, nova_driver):
    world.add_hypervisor('compute-2')
    nova_driver.set_reservation_inventory('compute-1', RC, 1)
    nova_driver.set_reservation_inventory('compute-2', RC, 1)
    nova_driver.set_reservation_inventory('compute-2', 'CUSTOM_RESERVATION_R2', 1)
    nova_driver.delete_resource_class(RC)
    assert RC not in world.placement.classes
    assert _child(world, 'compute-1') is None
    assert _child(world, 'compute-2') is None
    assert _child(world, 'compute-2', 'CUSTOM_RESERVATION_R2')
    nova_driver.delete_resource_class(RC)                          # gone: no error


@pytest.mark.parametrize('status, retryable', [(503, True), (500, True),
                                               (403, False), (400, False)])
def test_placement_errors_map_to_compute_errors(world, nova_driver, status, retryable):
    world.inject(status=status, path='^/placement/resource_classes/')
    with pytest.raises(exceptions.ComputeError) as caught:
        nova_driver.set_reservation_inventory('compute-1', RC, 1)
    assert caught.value.retryable is retryable
    assert caught.value.status_code == status


def test_resource_class_names():
    assert placement.resource_class('a1b2-C3') == 'CUSTOM_RESERVATION_A1B2_C3'
