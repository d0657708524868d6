"""The compute driver contract, run on the memory driver and on the Nova driver.

What Climate's plugins rely on: results, idempotency (the event engine repeats calls
that failed or timed out), not-found errors and retryable versus permanent failures.
"""

import time
import uuid

import pytest

from climate import context
from climate.compute import base
from climate.compute import exceptions
from tests.unit.compute.conftest import at_once

# --- hypervisors -----------------------------------------------------------------------

def test_get_hypervisor_by_hostname_reports_its_capacity(compute):
    compute.world.add_server('vm-1', 'compute-1')
    hypervisor = compute.driver.get_hypervisor('compute-1')
    assert (hypervisor.hypervisor_hostname, hypervisor.service_host) == (
        'compute-1', 'compute-1')
    assert (hypervisor.vcpus, hypervisor.memory_mb, hypervisor.local_gb) == (
        16, 32768, 400)
    assert hypervisor.availability_zone == 'nova'
    assert hypervisor.running_vms == 1
    assert hypervisor.hypervisor_type == 'QEMU'
    assert isinstance(hypervisor.cpu_info, str) and 'x86_64' in hypervisor.cpu_info
    uuid.UUID(hypervisor.id)


def test_get_hypervisor_by_id_finds_the_same_hypervisor(compute):
    by_name = compute.driver.get_hypervisor('compute-2')
    assert compute.driver.get_hypervisor(by_name.id) == by_name


def test_get_hypervisor_matches_the_hostname_exactly(compute):
    compute.world.add_hypervisor('compute-10', vcpus=4)
    assert compute.driver.get_hypervisor('compute-1').vcpus == 16
    assert compute.driver.get_hypervisor('compute-10').vcpus == 4
    with pytest.raises(exceptions.HypervisorNotFound):
        compute.driver.get_hypervisor('compute')


def test_get_unknown_hypervisor_is_not_found(compute):
    for unknown in (str(uuid.uuid4()), 'nowhere'):
        with pytest.raises(exceptions.HypervisorNotFound) as caught:
            compute.driver.get_hypervisor(unknown)
        assert caught.value.retryable is False


def test_hypervisor_availability_zone_follows_its_aggregates(compute):
    compute.driver.ensure_aggregate('reservation-1', availability_zone='climate_r1')
    compute.driver.add_host('reservation-1', 'compute-2')
    assert compute.driver.get_hypervisor('compute-2').availability_zone == 'climate_r1'
    compute.driver.remove_host('reservation-1', 'compute-2')
    assert compute.driver.get_hypervisor('compute-2').availability_zone == 'nova'


def test_list_hypervisors_lists_every_one(compute):
    names = sorted(h.hypervisor_hostname for h in compute.driver.list_hypervisors())
    assert names == ['compute-1', 'compute-2']


def test_list_servers_on_host_covers_every_project_and_only_that_host(compute):
    mine = compute.world.add_server('vm-a', 'compute-1', project_id='project-a')
    theirs = compute.world.add_server('vm-b', 'compute-1', project_id='project-b')
    compute.world.add_server('vm-c', 'compute-2', project_id='project-a')
    compute.world.add_server('vm-d', 'compute-1', status=base.SHELVED_OFFLOADED)
    servers = compute.driver.list_servers_on_host('compute-1')
    assert sorted(s.id for s in servers) == sorted([mine, theirs])
    assert {s.project_id for s in servers} == {'project-a', 'project-b'}
    assert all(s.host == 'compute-1' for s in servers)
    assert compute.driver.list_servers_on_host('compute-3') == []


# --- aggregates ------------------------------------------------------------------------

def test_find_aggregate(compute):
    assert compute.driver.find_aggregate('no-such-aggregate') is None
    freepool = compute.driver.find_aggregate('freepool')
    assert freepool.name == 'freepool' and freepool.hosts == ()


def test_ensure_aggregate_creates_once_and_returns_the_existing_one(compute):
    created = compute.driver.ensure_aggregate(
        'reservation-1', availability_zone='climate_r1',
        metadata={'climate:owner': 'project-a'})
    assert created.name == 'reservation-1'
    assert created.availability_zone == 'climate_r1'
    assert created.metadata == {'climate:owner': 'project-a'}
    again = compute.driver.ensure_aggregate(
        'reservation-1', availability_zone='climate_r1',
        metadata={'climate:owner': 'project-a'})
    assert again.id == created.id
    assert compute.driver.find_aggregate('reservation-1') == again


def test_ensure_aggregate_applies_metadata_to_an_existing_aggregate(compute):
    compute.driver.ensure_aggregate('reservation-1')
    updated = compute.driver.ensure_aggregate('reservation-1', metadata={'k': 'v'})
    assert updated.metadata == {'k': 'v'}


def test_ensure_aggregate_refuses_an_existing_one_in_another_zone(compute):
    compute.driver.ensure_aggregate('reservation-1', availability_zone='zone-a')
    with pytest.raises(exceptions.ComputeError) as caught:
        compute.driver.ensure_aggregate('reservation-1', availability_zone='zone-b')
    assert caught.value.retryable is False
    assert compute.driver.find_aggregate('reservation-1').availability_zone == 'zone-a'


def test_availability_zone_names_must_not_contain_a_colon(compute):
    with pytest.raises(exceptions.ComputeError) as caught:
        compute.driver.ensure_aggregate('reservation-1', availability_zone='zone:x')
    assert caught.value.retryable is False
    assert compute.driver.find_aggregate('reservation-1') is None


def test_ensure_aggregate_is_safe_under_concurrent_callers(compute):
    results, errors = at_once(lambda: compute.driver.ensure_aggregate('reservation-1'),
                              8)
    assert errors == []
    assert len({a.id for a in results}) == 1


def test_add_host_is_idempotent(compute):
    compute.driver.ensure_aggregate('reservation-1', availability_zone='climate_r1')
    first = compute.driver.add_host('reservation-1', 'compute-1')
    second = compute.driver.add_host('reservation-1', 'compute-1')
    assert first.hosts == second.hosts == ('compute-1',)
    assert compute.driver.find_aggregate('reservation-1').hosts == ('compute-1',)


def test_add_host_errors(compute):
    with pytest.raises(exceptions.AggregateNotFound):
        compute.driver.add_host('no-such-aggregate', 'compute-1')
    compute.driver.ensure_aggregate('reservation-1')
    with pytest.raises(exceptions.ComputeHostNotFound):
        compute.driver.add_host('reservation-1', 'no-such-host')
    assert compute.driver.find_aggregate('reservation-1').hosts == ()


def test_a_host_cannot_be_in_two_availability_zones(compute):
    compute.driver.add_host('freepool', 'compute-1')
    compute.driver.ensure_aggregate('reservation-1', availability_zone='zone-a')
    compute.driver.ensure_aggregate('reservation-2', availability_zone='zone-b')
    # The freepool has no zone, so a freepool host may join a zoned aggregate.
    compute.driver.add_host('reservation-1', 'compute-1')
    with pytest.raises(exceptions.ComputeError) as caught:
        compute.driver.add_host('reservation-2', 'compute-1')
    assert caught.value.retryable is False
    assert caught.value.status_code == 409
    assert compute.driver.find_aggregate('reservation-2').hosts == ()


def test_remove_host_is_idempotent(compute):
    compute.driver.add_host('freepool', 'compute-1')
    compute.driver.add_host('freepool', 'compute-2')
    assert compute.driver.remove_host('freepool', 'compute-1').hosts == ('compute-2',)
    assert compute.driver.remove_host('freepool', 'compute-1').hosts == ('compute-2',)
    with pytest.raises(exceptions.AggregateNotFound):
        compute.driver.remove_host('no-such-aggregate', 'compute-1')


def test_set_aggregate_metadata_merges_and_none_unsets(compute):
    compute.driver.ensure_aggregate('reservation-1', metadata={'a': '1', 'b': '2'})
    result = compute.driver.set_aggregate_metadata(
        'reservation-1', {'b': None, 'c': '3', 'never-set': None})
    assert result.metadata == {'a': '1', 'c': '3'}
    assert compute.driver.find_aggregate('reservation-1').metadata == {'a': '1', 'c': '3'}
    with pytest.raises(exceptions.AggregateNotFound):
        compute.driver.set_aggregate_metadata('no-such-aggregate', {'a': '1'})


def test_delete_aggregate_releases_its_hosts_and_is_idempotent(compute):
    compute.driver.ensure_aggregate('reservation-1', availability_zone='zone-a')
    compute.driver.add_host('reservation-1', 'compute-1')
    compute.driver.delete_aggregate('reservation-1')
    assert compute.driver.find_aggregate('reservation-1') is None
    compute.driver.delete_aggregate('reservation-1')
    # The host left zone-a, so it may join another zone now.
    compute.driver.ensure_aggregate('reservation-2', availability_zone='zone-b')
    assert compute.driver.add_host('reservation-2', 'compute-1').hosts == ('compute-1',)


# --- servers ---------------------------------------------------------------------------

def test_get_server(compute):
    server_id = compute.world.add_server('vm-1', 'compute-2', project_id='project-b',
                                         metadata={'k': 'v'})
    server = compute.driver.get_server(server_id)
    assert (server.id, server.name, server.status) == (server_id, 'vm-1', 'ACTIVE')
    assert (server.project_id, server.host, server.node) == (
        'project-b', 'compute-2', 'compute-2')
    assert server.metadata == {'k': 'v'} and server.task_state is None
    with pytest.raises(exceptions.ServerNotFound):
        compute.driver.get_server(str(uuid.uuid4()))


def test_shelve_then_unshelve(compute):
    server_id = compute.world.add_server('vm-1', 'compute-1')
    compute.driver.shelve_server(server_id)
    shelved = compute.driver.wait_for_server(server_id, [base.SHELVED_OFFLOADED])
    assert shelved.status == 'SHELVED_OFFLOADED' and shelved.host is None
    compute.driver.shelve_server(server_id)  # again: nothing to do, no error
    compute.driver.unshelve_server(server_id)
    active = compute.driver.wait_for_server(server_id, 'ACTIVE')
    assert active.host in ('compute-1', 'compute-2')
    compute.driver.unshelve_server(server_id)  # again: nothing to do, no error
    assert compute.driver.get_server(server_id).status == 'ACTIVE'


def test_shelving_takes_time_and_a_repeated_request_is_harmless(compute):
    compute.set_action_delay(0.3)
    server_id = compute.world.add_server('vm-1', 'compute-1')
    started = time.monotonic()
    compute.driver.shelve_server(server_id)
    in_progress = compute.driver.get_server(server_id)
    assert in_progress.status == 'ACTIVE' and in_progress.task_state == 'shelving'
    compute.driver.shelve_server(server_id)
    compute.driver.wait_for_server(server_id, 'SHELVED_OFFLOADED')
    assert time.monotonic() - started >= 0.3


def test_shelve_and_unshelve_refuse_impossible_states(compute):
    server_id = compute.world.add_server('vm-1', 'compute-1', status='ERROR')
    with pytest.raises(exceptions.ComputeError) as caught:
        compute.driver.shelve_server(server_id)
    assert caught.value.status_code == 409 and caught.value.retryable is False
    with pytest.raises(exceptions.ComputeError) as caught:
        compute.driver.unshelve_server(server_id)
    assert caught.value.status_code == 409
    with pytest.raises(exceptions.ServerNotFound):
        compute.driver.shelve_server(str(uuid.uuid4()))
    with pytest.raises(exceptions.ServerNotFound):
        compute.driver.unshelve_server(str(uuid.uuid4()))


def test_delete_server_is_idempotent(compute):
    server_id = compute.world.add_server('vm-1', 'compute-1')
    compute.driver.delete_server(server_id)
    compute.driver.delete_server(server_id)
    compute.driver.wait_for_server_gone(server_id)
    with pytest.raises(exceptions.ServerNotFound):
        compute.driver.get_server(server_id)
    compute.driver.delete_server(server_id)
    assert compute.driver.list_servers_on_host('compute-1') == []


def test_wait_for_server_gone_waits_for_the_deletion(compute):
    compute.set_action_delay(0.3)
    server_id = compute.world.add_server('vm-1', 'compute-1')
    compute.driver.delete_server(server_id)
    assert compute.driver.get_server(server_id).task_state == 'deleting'
    with pytest.raises(exceptions.ComputeTimeout):
        compute.driver.wait_for_server_gone(server_id, timeout=0.05)
    compute.driver.wait_for_server_gone(server_id, timeout=5)


def test_snapshot(compute):
    compute.set_action_delay(0.2)
    server_id = compute.world.add_server('vm-1', 'compute-1')
    image_id = compute.driver.create_image(server_id, 'reserved_vm-1')
    assert compute.driver.get_image_status(image_id) in ('queued', 'saving')
    assert compute.driver.wait_for_image(image_id) == 'active'
    assert compute.driver.wait_for_server(server_id, 'ACTIVE').task_state is None
    with pytest.raises(exceptions.ImageNotFound):
        compute.driver.get_image_status(str(uuid.uuid4()))
    with pytest.raises(exceptions.ServerNotFound):
        compute.driver.create_image(str(uuid.uuid4()), 'nothing')


def test_server_metadata(compute):
    server_id = compute.world.add_server('vm-1', 'compute-1',
                                         metadata={'a': '1', 'with space': '2'})
    compute.driver.delete_server_metadata(server_id, ['with space'])
    assert compute.driver.set_server_metadata(server_id, {'b': '2'}) == {'a': '1',
                                                                          'b': '2'}
    assert compute.driver.set_server_metadata(server_id, {'b': '2'}) == {'a': '1',
                                                                          'b': '2'}
    compute.driver.delete_server_metadata(server_id, ['a', 'not-there'])
    assert compute.driver.get_server(server_id).metadata == {'b': '2'}
    missing = str(uuid.uuid4())
    with pytest.raises(exceptions.ServerNotFound):
        compute.driver.set_server_metadata(missing, {'a': '1'})
    with pytest.raises(exceptions.ServerNotFound):
        compute.driver.delete_server_metadata(missing, ['a'])


def test_create_server_on_a_host(compute):
    server = compute.driver.create_server('vm-new', 'flavor-1', 'image-1',
                                          host='compute-2', metadata={'k': 'v'})
    assert server.status in ('BUILD', 'ACTIVE')
    active = compute.driver.wait_for_server(server.id, 'ACTIVE')
    assert (active.name, active.host, active.metadata) == ('vm-new', 'compute-2',
                                                            {'k': 'v'})
    assert active.project_id == compute.own_project
    with pytest.raises(exceptions.ComputeError) as caught:
        compute.driver.create_server('vm-x', 'flavor-1', 'image-1', host='nowhere')
    assert caught.value.retryable is False


def test_wait_for_server_reports_an_unexpected_error_state(compute):
    server = compute.driver.create_server('vm-new', 'flavor-1', 'image-1',
                                          availability_zone='zone-without-hosts')
    with pytest.raises(exceptions.ComputeError) as caught:
        compute.driver.wait_for_server(server.id, 'ACTIVE')
    assert caught.value.retryable is False
    assert 'No valid host' in caught.value.message


def test_wait_for_server_times_out_with_a_retryable_error(compute):
    compute.set_action_delay(10)
    server_id = compute.world.add_server('vm-1', 'compute-1')
    compute.driver.shelve_server(server_id)
    started = time.monotonic()
    with pytest.raises(exceptions.ComputeTimeout) as caught:
        compute.driver.wait_for_server(server_id, 'SHELVED_OFFLOADED', timeout=0.2)
    assert caught.value.retryable is True
    assert 0.2 <= time.monotonic() - started < 2


# --- failures --------------------------------------------------------------------------

@pytest.mark.parametrize('method, call', [
    ('get_server', lambda d, ids: d.get_server(ids['server'])),
    ('list_servers_on_host', lambda d, ids: d.list_servers_on_host('compute-1')),
    ('get_hypervisor', lambda d, ids: d.get_hypervisor('compute-1')),
    ('find_aggregate', lambda d, ids: d.find_aggregate('freepool')),
    ('shelve_server', lambda d, ids: d.shelve_server(ids['server'])),
])
@pytest.mark.parametrize('retryable', [True, False])
def test_failures_say_whether_a_retry_may_help(compute, method, call, retryable):
    ids = {'server': compute.world.add_server('vm-1', 'compute-1')}
    compute.fail_next(method, retryable=retryable)
    with pytest.raises(exceptions.ComputeError) as caught:
        call(compute.driver, ids)
    assert caught.value.retryable is retryable
    assert not isinstance(caught.value, exceptions.NotFound)
    call(compute.driver, ids)  # the failure was for one call only


def test_add_host_retried_after_a_lost_answer_succeeds(compute):
    compute.fail_next('add_host', retryable=True, after=True)
    with pytest.raises(exceptions.ComputeError) as caught:
        compute.driver.add_host('freepool', 'compute-1')
    assert caught.value.retryable
    assert compute.driver.add_host('freepool', 'compute-1').hosts == ('compute-1',)


def test_delete_server_retried_after_a_lost_answer_succeeds(compute):
    server_id = compute.world.add_server('vm-1', 'compute-1')
    compute.fail_next('delete_server', retryable=True, after=True)
    with pytest.raises(exceptions.ComputeError):
        compute.driver.delete_server(server_id)
    compute.driver.delete_server(server_id)
    compute.driver.wait_for_server_gone(server_id)


def test_shelve_retried_after_a_lost_answer_succeeds(compute):
    compute.set_action_delay(0.2)
    server_id = compute.world.add_server('vm-1', 'compute-1')
    compute.fail_next('shelve_server', retryable=True, after=True)
    with pytest.raises(exceptions.ComputeError):
        compute.driver.shelve_server(server_id)
    compute.driver.shelve_server(server_id)  # while still shelving
    assert compute.driver.wait_for_server(server_id, 'SHELVED_OFFLOADED')


def test_waiting_tolerates_a_transient_failure(compute):
    server_id = compute.world.add_server('vm-1', 'compute-1')
    compute.driver.shelve_server(server_id)
    compute.fail_next('get_server', retryable=True, times=2)
    assert compute.driver.wait_for_server(server_id, 'SHELVED_OFFLOADED').status == \
        'SHELVED_OFFLOADED'


def test_waiting_stops_at_a_permanent_failure(compute):
    server_id = compute.world.add_server('vm-1', 'compute-1')
    compute.fail_next('get_server', retryable=False)
    with pytest.raises(exceptions.ComputeError) as caught:
        compute.driver.wait_for_server(server_id, 'ACTIVE')
    assert caught.value.retryable is False


# --- acting for a user (Keystone trusts) -----------------------------------------------

@pytest.mark.parametrize('missing', ['auth_token', 'user_id', 'project_id', 'roles'])
def test_no_trust_without_a_user_token_user_project_and_roles(compute, missing):
    values = {'auth_token': 'token', 'user_id': 'user-b', 'project_id': 'project-b',
              'roles': ['member'], missing: None}
    assert compute.driver.create_trust(context.RequestContext(**values)) is None
    assert compute.driver.create_trust(context.admin_context()) is None
    assert compute.trust_ids() == set()


def test_a_user_context_with_a_token_gets_a_new_trust_each_time(compute):
    user = compute.user_context()
    first = compute.driver.create_trust(user)
    second = compute.driver.create_trust(user)
    assert isinstance(first, str) and first and second != first
    assert compute.trust_ids() == {first, second}


def _trusted_snapshot(compute, user, server_id):
    """Snapshot the server through a new trust of ``user``: (trust id, view, image)."""
    trust_id = compute.driver.create_trust(user)
    trusted = compute.driver.acting_for(trust_id)
    image_id = trusted.create_image(server_id, 'reserved_vm-1')
    assert trusted.wait_for_image(image_id) == 'active'
    compute.driver.wait_for_server(server_id, 'ACTIVE')
    return trust_id, trusted, image_id


def test_a_snapshot_through_the_trust_belongs_to_the_users_project(compute):
    user = compute.user_context(user_id='user-b', project_id='project-b')
    server_id = compute.world.add_server('vm-1', 'compute-1', project_id='project-b',
                                         user_id='user-b')
    _trust_id, _trusted, image_id = _trusted_snapshot(compute, user, server_id)
    assert compute.image_owner(image_id) == 'project-b'
    # The same snapshot by the driver itself belongs to the service's project.
    own_image = compute.driver.create_image(server_id, 'reserved_vm-1')
    assert compute.driver.wait_for_image(own_image) == 'active'
    assert compute.image_owner(own_image) == compute.own_project != 'project-b'


def test_a_server_booted_through_the_trust_belongs_to_the_user(compute):
    user = compute.user_context(user_id='user-b', project_id='project-b')
    trusted = compute.driver.acting_for(compute.driver.create_trust(user))
    server = trusted.create_server('vm-new', 'flavor-1', 'image-1')
    assert (server.project_id, server.user_id) == ('project-b', 'user-b')
    assert trusted.wait_for_server(server.id, 'ACTIVE').project_id == 'project-b'


@pytest.mark.parametrize('view', ['held', 'new'])
def test_calls_through_a_deleted_trust_fail_for_good(compute, view):
    user = compute.user_context(user_id='user-b', project_id='project-b')
    server_id = compute.world.add_server('vm-1', 'compute-1', project_id='project-b')
    trust_id, trusted, image_id = _trusted_snapshot(compute, user, server_id)
    compute.driver.delete_trust(trust_id)
    assert trust_id not in compute.trust_ids()
    if view == 'new':
        trusted = compute.driver.acting_for(trust_id)
    for call in (lambda: trusted.get_image_status(image_id),
                 lambda: trusted.create_image(server_id, 'again'),
                 lambda: trusted.get_server(server_id)):
        with pytest.raises(exceptions.ComputeError) as caught:
            call()
        assert caught.value.status_code in (401, 403)
        assert caught.value.retryable is False
        assert not isinstance(caught.value, exceptions.NotFound)
    # The driver itself is not affected.
    assert compute.driver.get_image_status(image_id) == 'active'


def test_delete_trust_is_idempotent(compute):
    trust_id = compute.driver.create_trust(compute.user_context())
    compute.driver.delete_trust(trust_id)
    assert compute.trust_ids() == set()
    compute.driver.delete_trust(trust_id)
    compute.driver.delete_trust(uuid.uuid4().hex)


def test_deleting_one_trust_leaves_the_others_usable(compute):
    user = compute.user_context(user_id='user-b', project_id='project-b')
    server_id = compute.world.add_server('vm-1', 'compute-1', project_id='project-b')
    kept = compute.driver.create_trust(user)
    compute.driver.delete_trust(compute.driver.create_trust(user))
    assert compute.driver.acting_for(kept).get_server(server_id).id == server_id


def test_injected_failures_apply_through_the_trust(compute):
    user = compute.user_context(user_id='user-b', project_id='project-b')
    server_id = compute.world.add_server('vm-1', 'compute-1', project_id='project-b')
    trusted = compute.driver.acting_for(compute.driver.create_trust(user))
    trusted.get_server(server_id)   # authenticated: the failure is Nova's answer
    compute.fail_next('create_image', retryable=True)
    with pytest.raises(exceptions.ComputeError) as caught:
        trusted.create_image(server_id, 'snap')
    assert caught.value.retryable is True
    assert compute.image_owner(trusted.create_image(server_id, 'snap')) == 'project-b'


# --- Placement (capacity reservations' units) ------------------------------------------

RC = 'CUSTOM_RESERVATION_R1'


def test_reservation_units_are_set_changed_and_removed_idempotently(compute):
    for total in (2, 2, 3):
        compute.driver.set_reservation_inventory('compute-1', RC, total)
        assert compute.units('compute-1', RC) == (total, 0)
    assert RC in compute.resource_classes()
    assert compute.units('compute-2', RC) is None
    compute.driver.set_reservation_inventory('compute-1', RC, 0)
    assert compute.units('compute-1', RC) is None
    assert compute.driver.remove_reservation_inventory('compute-1', RC) is True


def test_units_on_a_node_that_does_not_exist(compute):
    with pytest.raises(exceptions.HypervisorNotFound):
        compute.driver.set_reservation_inventory('no-such-node', RC, 1)
    assert compute.driver.remove_reservation_inventory('no-such-node', RC) is True


def test_deleting_the_class_removes_units_left_anywhere(compute):
    compute.driver.set_reservation_inventory('compute-1', RC, 1)
    compute.driver.set_reservation_inventory('compute-2', RC, 2)
    compute.driver.delete_resource_class(RC)
    assert compute.units('compute-1', RC) is None
    assert compute.units('compute-2', RC) is None
    assert RC not in compute.resource_classes()
    compute.driver.delete_resource_class(RC)
