"""Creating and updating virtual:instance leases: clear 4xx errors, one lease per
server at a time (also under concurrent requests, on every database backend), and
window changes before and after the start."""

import concurrent.futures
import datetime
import threading

import pytest

from climate import exceptions
from tests.functional.plugins.conftest import OTHER_PROJECT
from tests.functional.plugins.conftest import lease_body
from tests.functional.plugins.conftest import soon
from tests.functional.plugins.conftest import sqlite_only
from tests.functional.plugins.conftest import wait_status

memory_only = pytest.mark.parametrize('compute_kind', ['memory'], indirect=True)
SECOND = datetime.timedelta(seconds=1)


def later(server_id, **reservation):
    return lease_body(server_id, soon(3600), soon(7200), **reservation)


def error_of(call):
    with pytest.raises(exceptions.ClimateException) as caught:
        call()
    return caught.value


# Validation ---------------------------------------------------------------------------
@sqlite_only
@memory_only
@pytest.mark.parametrize('reservation, code, words', [
    ({'resource_id': None}, 400, 'Missing parameter resource_id'),
    ({'resource_id': 'not-a-uuid'}, 400, 'resource_id must be the UUID'),
    ({'on_end': 'explode'}, 400, 'on_end must be one of snapshot_and_delete'),
    ({'before_end': 'later'}, 400, 'before_end must be one of default, snapshot'),
    ({'colour': 'blue'}, 400, 'colour: unknown field'),
    ({'vcpus': 2}, 400, 'vcpus: capacity-mode fields cannot be combined'),
])
def test_bad_fields_are_400_naming_the_field(service, ctx, world, reservation, code,
                                             words):
    server_id = world.add_server()
    body = later(server_id)
    body['reservations'][0].update(reservation)
    error = error_of(lambda: service.create_lease(ctx, body))
    assert (error.code, words in str(error)) == (code, True), str(error)


@sqlite_only
@memory_only
def test_capacity_mode_requests_go_to_the_capacity_mode(service, ctx):
    # What python-blazarclient sends for a capacity reservation; no host is enrolled
    # here, so the capacity mode answers that it does not fit (its own tests are in
    # tests/functional/plugins/capacity/).
    body = lease_body(None, soon(3600), soon(7200))
    body['reservations'][0] = {'resource_type': 'virtual:instance', 'vcpus': 1,
                               'memory_mb': 512, 'disk_gb': 10, 'amount': 2,
                               'affinity': 'None', 'resource_properties': ''}
    error = error_of(lambda: service.create_lease(ctx, body))
    assert error.code == 409
    assert 'Not enough capacity available: 2 instance(s) of 1 vCPU' in str(error)


@sqlite_only
@memory_only
def test_empty_capacity_fields_next_to_resource_id_are_ignored(service, ctx, world):
    server_id = world.add_server()
    body = later(server_id, vcpus='', memory_mb='', affinity='None',
                 resource_properties='')
    assert service.create_lease(ctx, body)['status'] == 'PENDING'


@sqlite_only
@pytest.mark.parametrize('case', ['missing', 'other project'])
def test_an_unknown_or_foreign_server_is_400_and_not_revealed(service, ctx, world, case):
    server_id = '8d2c0b5e-0d33-4a55-bb1e-4a3d1d0a6b7c' if case == 'missing' else \
        world.add_server(project_id=OTHER_PROJECT)
    error = error_of(lambda: service.create_lease(ctx, later(server_id)))
    assert error.code == 400
    assert str(error) == f'resource_id: no server {server_id} in project project-a'


@sqlite_only
@memory_only
def test_admins_may_reserve_any_server(service, admin_ctx, world):
    server_id = world.add_server(project_id=OTHER_PROJECT)
    lease = service.create_lease(admin_ctx, later(server_id))
    assert lease['reservations'][0]['resource_id'] == server_id


@sqlite_only
@memory_only
@pytest.mark.parametrize('status', ['ERROR', 'BUILD'])
def test_a_server_that_cannot_be_shelved_is_409(service, ctx, world, status):
    server_id = world.add_server(status=status)
    error = error_of(lambda: service.create_lease(ctx, later(server_id)))
    assert error.code == 409
    assert str(error).startswith(f'resource_id: server {server_id} is {status}')


@sqlite_only
@memory_only
def test_nova_unavailable_is_reported_and_nothing_is_left_behind(service, ctx, world):
    server_id = world.add_server()
    world.fail('set_server_metadata')
    error = error_of(lambda: service.create_lease(ctx, later(server_id)))
    assert 'Nova is unavailable' in str(error)
    assert service.list_leases(ctx) == []
    assert world.server(server_id).status == 'ACTIVE'
    # Nothing holds the server.
    assert service.create_lease(ctx, later(server_id))['status'] == 'PENDING'


# One lease per server -----------------------------------------------------------------
@sqlite_only
@memory_only
def test_a_reserved_server_cannot_be_reserved_again_until_its_lease_ends(
        service, engine, ctx, world):
    server_id = world.add_server()
    start = soon(1)
    first = service.create_lease(ctx, lease_body(server_id, start, start + 1.5 * SECOND,
                                                 on_end='none'))
    # Even for a disjoint window: one server, one unfinished lease.
    error = error_of(lambda: service.create_lease(ctx, later(server_id)))
    assert error.code == 409
    assert str(error) == (f'resource_id: server {server_id} is already reserved by lease '
                          f'{first["id"]}; a server can be in one unfinished lease at a '
                          f'time')
    wait_status(service, ctx, first['id'], 'TERMINATED')
    second = service.create_lease(ctx, later(server_id))
    assert second['status'] == 'PENDING'
    assert world.server(server_id).metadata['climate:lease_id'] == second['id']


@memory_only
def test_concurrent_leases_for_one_server_only_one_wins(service, ctx, world):
    """On every backend: the hold is the primary key, so exactly one commit wins."""
    server_id = world.add_server()
    contenders = 6
    barrier = threading.Barrier(contenders)
    start, end = soon(3600).isoformat(), soon(7200).isoformat()

    def create(index):
        barrier.wait()
        try:
            return service.create_lease(ctx, lease_body(server_id, start, end,
                                                        name=f'lease-{index}'))
        except exceptions.Conflict as error:
            return error

    with concurrent.futures.ThreadPoolExecutor(contenders) as pool:
        results = list(pool.map(create, range(contenders)))
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if not isinstance(r, dict)]
    assert len(won) == 1, results
    assert all(f'already reserved by lease {won[0]["id"]}' in str(e) for e in lost), lost
    assert [lease['id'] for lease in service.list_leases(ctx)] == [won[0]['id']]


# Updates ------------------------------------------------------------------------------
@sqlite_only
@memory_only
def test_moving_a_pending_lease_keeps_the_server_shelved_until_the_new_start(
        service, engine, ctx, world):
    server_id = world.add_server()
    lease = service.create_lease(ctx, later(server_id))
    world.wait_status(server_id, 'SHELVED_OFFLOADED')
    start = soon(1.5)
    moved = service.update_lease(ctx, lease['id'], {
        'start_date': start.isoformat(), 'end_date': soon(3600).isoformat()})
    assert moved['status'] == 'PENDING'
    assert world.server(server_id).status == 'SHELVED_OFFLOADED'
    wait_status(service, ctx, lease['id'], 'ACTIVE')
    assert world.server(server_id).status == 'ACTIVE'


@sqlite_only
@memory_only
def test_a_pending_lease_moved_later_shelves_its_running_server(service, ctx, world,
                                                                 plugin_conf):
    plugin_conf.set_override('shelve_lead_time', 600, 'virtual:instance')
    server_id = world.add_server()
    lease = service.create_lease(ctx, lease_body(server_id, soon(300), soon(3600)))
    assert world.server(server_id).status == 'ACTIVE'   # starts within the lead time
    service.update_lease(ctx, lease['id'], {'start_date': soon(7200).isoformat(),
                                            'end_date': soon(9000).isoformat()})
    world.wait_status(server_id, 'SHELVED_OFFLOADED')
    # Deleting it now gives the server back running, as it was.
    service.delete_lease(ctx, lease['id'])
    world.wait_status(server_id, 'ACTIVE')


@sqlite_only
@memory_only
def test_after_the_start_the_end_and_the_end_action_may_change(service, engine, ctx,
                                                               world):
    server_id = world.add_server()
    lease = service.create_lease(ctx, lease_body(server_id, soon(1), soon(3600)))
    active = wait_status(service, ctx, lease['id'], 'ACTIVE')
    reservation_id = active['reservations'][0]['id']
    error = error_of(lambda: service.update_lease(ctx, lease['id'], {
        'start_date': soon(60).isoformat()}))
    assert 'Cannot modify the start date of already started leases' in str(error)
    updated = service.update_lease(ctx, lease['id'], {
        'end_date': soon(1.5).isoformat(),
        'reservations': [{'id': reservation_id, 'on_end': 'none',
                          'before_end': 'default'}]})
    assert updated['status'] == 'ACTIVE'
    assert updated['reservations'][0]['on_end'] == 'none'
    wait_status(service, ctx, lease['id'], 'TERMINATED')
    assert world.server(server_id).status == 'ACTIVE'
    assert world.server(server_id).metadata['climate:status'] == 'ENDED'


@sqlite_only
@memory_only
@pytest.mark.parametrize('change, code, words', [
    ({'resource_id': '8d2c0b5e-0d33-4a55-bb1e-4a3d1d0a6b7c'}, 409,
     'resource_id cannot be updated'),
    ({'amount': 3}, 400, 'amount: capacity-mode fields cannot be combined'),
    ({'on_end': 'later'}, 400, 'on_end must be one of'),
])
def test_invalid_updates_are_refused_and_change_nothing(service, ctx, world, change,
                                                        code, words):
    server_id = world.add_server()
    lease = service.create_lease(ctx, later(server_id))
    reservation_id = lease['reservations'][0]['id']
    update = dict(change, id=reservation_id)
    error = error_of(lambda: service.update_lease(ctx, lease['id'],
                                                  {'reservations': [update]}))
    assert (error.code, words in str(error)) == (code, True), str(error)
    shown = service.get_lease(ctx, lease['id'])
    assert shown['status'] == 'PENDING'
    assert shown['reservations'][0]['on_end'] == 'snapshot_and_delete'
