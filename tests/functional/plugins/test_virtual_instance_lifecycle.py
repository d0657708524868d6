"""A reserved server through every transition: the real lease service and event engine
with the virtual:instance plugin, on the in-memory driver and on the Nova driver
against the HTTP double of Nova."""

import datetime

import pytest

from climate import exceptions
from climate.db import api as db_api
from climate.db import leases as lease_db
from tests.functional.plugins.conftest import lease_body
from tests.functional.plugins.conftest import soon
from tests.functional.plugins.conftest import sqlite_only
from tests.functional.plugins.conftest import wait_for
from tests.functional.plugins.conftest import wait_status

SECOND = datetime.timedelta(seconds=1)
memory_only = pytest.mark.parametrize('compute_kind', ['memory'], indirect=True)
nova_only = pytest.mark.parametrize('compute_kind', ['nova'], indirect=True)


def marks(world, server_id):
    return {k: v for k, v in world.server(server_id).metadata.items()
            if k.startswith('climate:')}


def event_status(lease, event_type):
    return {e['event_type']: e['status'] for e in lease['events']}[event_type]


# The whole life, on every database backend -------------------------------------------
@memory_only
def test_shelved_until_start_unshelved_then_snapshotted_and_deleted(service, engine,
                                                                     ctx, world):
    server_id = world.add_server('vm-1')
    start = soon(2)
    lease = service.create_lease(ctx, lease_body(server_id, start, start + 2 * SECOND))
    assert lease['status'] == 'PENDING'
    reservation = lease['reservations'][0]
    assert reservation['resource_id'] == server_id
    assert (reservation['on_end'], reservation['before_end']) == \
        ('snapshot_and_delete', 'default')

    world.wait_status(server_id, 'SHELVED_OFFLOADED')
    assert marks(world, server_id) == {'climate:lease_id': lease['id'],
                                       'climate:status': 'RESERVED'}

    wait_status(service, ctx, lease['id'], 'ACTIVE')
    server = world.server(server_id)
    assert (server.status, server.task_state) == ('ACTIVE', None)
    assert marks(world, server_id)['climate:status'] == 'ACTIVE'

    ended = wait_status(service, ctx, lease['id'], 'TERMINATED')
    assert not world.exists(server_id)
    reservation = ended['reservations'][0]
    assert reservation['status'] == 'deleted'
    assert not reservation['missing_resources'] and not ended['degraded']
    assert list(reservation['snapshots']) == ['on_end']
    assert world.images() == {
        reservation['snapshots']['on_end']: ('climate-snapshot-vm-1', 'active')}


# The same on the Nova driver (HTTP), and the other on_end actions ---------------------
@sqlite_only
@nova_only
def test_full_life_through_the_nova_api(service, engine, ctx, world):
    server_id = world.add_server('web')
    start = soon(1.5)
    lease = service.create_lease(ctx, lease_body(server_id, start, start + 2 * SECOND))
    world.wait_status(server_id, 'SHELVED_OFFLOADED')
    wait_status(service, ctx, lease['id'], 'ACTIVE')
    assert world.server(server_id).status == 'ACTIVE'
    ended = wait_status(service, ctx, lease['id'], 'TERMINATED')
    assert not world.exists(server_id)
    image_id = ended['reservations'][0]['snapshots']['on_end']
    assert world.images()[image_id] == ('climate-snapshot-web', 'active')


@sqlite_only
@pytest.mark.parametrize('on_end, status_after', [('delete', None),
                                                  ('shelve', 'SHELVED_OFFLOADED'),
                                                  ('none', 'ACTIVE')])
def test_on_end_actions(service, engine, ctx, world, on_end, status_after):
    server_id = world.add_server()
    start = soon(1)
    lease = service.create_lease(ctx, lease_body(server_id, start, start + 1.5 * SECOND,
                                                 on_end=on_end))
    assert lease['reservations'][0]['on_end'] == on_end
    ended = wait_status(service, ctx, lease['id'], 'TERMINATED')
    assert ended['reservations'][0]['snapshots'] == {}
    assert world.images() == {}
    if status_after is None:
        assert not world.exists(server_id)
    else:
        world.wait_status(server_id, status_after)
        assert marks(world, server_id) == {'climate:lease_id': lease['id'],
                                           'climate:status': 'ENDED'}


@sqlite_only
def test_a_lease_starting_now_leaves_the_server_running(service, engine, ctx, world,
                                                        plugin_conf):
    plugin_conf.set_override('shelve_lead_time', 120, 'virtual:instance')
    server_id = world.add_server()
    lease = service.create_lease(ctx, lease_body(server_id, 'now', soon(3600)))
    wait_status(service, ctx, lease['id'], 'ACTIVE')
    assert world.server(server_id).status == 'ACTIVE'
    assert marks(world, server_id)['climate:status'] == 'ACTIVE'
    assert world.server_actions() == 0   # never shelved, so never unshelved


@sqlite_only
def test_snapshot_before_the_end_when_asked(service, engine, ctx, world):
    server_id = world.add_server('db')
    start = soon(1)
    body = lease_body(server_id, start, start + 3 * SECOND, before_end='snapshot',
                      on_end='none')
    body['before_end_date'] = (start + 1.5 * SECOND).isoformat()
    lease = service.create_lease(ctx, body)
    assert lease['reservations'][0]['before_end'] == 'snapshot'
    ended = wait_status(service, ctx, lease['id'], 'TERMINATED')
    snapshots = ended['reservations'][0]['snapshots']
    assert list(snapshots) == ['before_end']
    assert world.images() == {snapshots['before_end']: ('climate-snapshot-db', 'active')}
    assert world.server(server_id).status == 'ACTIVE'


@sqlite_only
@memory_only
def test_a_snapshot_asked_for_before_the_end_is_taken_at_the_end_without_that_event(
        service, engine, ctx, world):
    server_id = world.add_server('db')
    start = soon(1)
    lease = service.create_lease(ctx, lease_body(server_id, start, start + 1.5 * SECOND,
                                                 before_end='snapshot', on_end='delete'))
    assert 'before_end_lease' not in {e['event_type'] for e in lease['events']}
    ended = wait_status(service, ctx, lease['id'], 'TERMINATED')
    snapshots = ended['reservations'][0]['snapshots']
    assert list(snapshots) == ['before_end']
    assert world.images() == {snapshots['before_end']: ('climate-snapshot-db', 'active')}
    assert not world.exists(server_id)


@sqlite_only
def test_deleting_an_active_lease_runs_its_end_action(service, engine, ctx, world):
    server_id = world.add_server()
    lease = service.create_lease(ctx, lease_body(server_id, soon(1), soon(3600)))
    wait_status(service, ctx, lease['id'], 'ACTIVE')
    service.delete_lease(ctx, lease['id'])
    assert not world.exists(server_id)
    assert [status for _, status in world.images().values()] == ['active']


# A server that disappears -------------------------------------------------------------
@sqlite_only
def test_a_server_deleted_during_the_lease_is_not_an_error(service, engine, ctx, world):
    server_id = world.add_server()
    start = soon(1)
    lease = service.create_lease(ctx, lease_body(server_id, start, start + 2.5 * SECOND))
    wait_status(service, ctx, lease['id'], 'ACTIVE')
    world.delete_behind_our_back(server_id)
    ended = wait_status(service, ctx, lease['id'], 'TERMINATED')
    assert ended['status_reason'] is None
    assert ended['reservations'][0]['missing_resources'] is True
    assert ended['degraded'] is True
    assert world.images() == {}


@sqlite_only
def test_a_server_deleted_before_the_start_is_not_an_error(service, engine, ctx, world):
    server_id = world.add_server()
    start = soon(1.5)
    lease = service.create_lease(ctx, lease_body(server_id, start, start + 1.5 * SECOND))
    world.wait_status(server_id, 'SHELVED_OFFLOADED')
    world.delete_behind_our_back(server_id)
    ended = wait_status(service, ctx, lease['id'], 'TERMINATED')
    assert event_status(ended, 'start_lease') == 'DONE'
    assert ended['reservations'][0]['missing_resources'] is True


# A lease deleted before it starts -----------------------------------------------------
@memory_only
def test_a_lease_deleted_before_its_start_gives_the_server_back(service, ctx, world):
    server_id = world.add_server()
    lease = service.create_lease(ctx, lease_body(server_id, soon(3600), soon(7200)))
    world.wait_status(server_id, 'SHELVED_OFFLOADED')
    service.delete_lease(ctx, lease['id'])
    world.wait_status(server_id, 'ACTIVE')
    assert marks(world, server_id) == {}
    with pytest.raises(exceptions.LeaseNotFound):
        service.get_lease(ctx, lease['id'])
    # The server is free for another lease.
    again = service.create_lease(ctx, lease_body(server_id, soon(3600), soon(7200)))
    assert again['status'] == 'PENDING'


@sqlite_only
def test_deleting_while_the_shelve_is_in_progress_waits_then_unshelves(service, ctx,
                                                                       world):
    world.set_action_delay(0.5)
    server_id = world.add_server()
    lease = service.create_lease(ctx, lease_body(server_id, soon(3600), soon(7200)))
    assert world.server(server_id).task_state == 'shelving'
    service.delete_lease(ctx, lease['id'])
    world.wait_status(server_id, 'ACTIVE')
    assert marks(world, server_id) == {}


@sqlite_only
def test_a_server_its_owner_had_shelved_stays_shelved_when_the_lease_is_deleted(
        service, ctx, world):
    server_id = world.add_server(status='SHELVED_OFFLOADED')
    lease = service.create_lease(ctx, lease_body(server_id, soon(3600), soon(7200)))
    service.delete_lease(ctx, lease['id'])
    assert world.server(server_id).status == 'SHELVED_OFFLOADED'
    assert marks(world, server_id) == {}


# Nova errors and timeouts -------------------------------------------------------------
@sqlite_only
def test_nova_errors_at_the_start_are_retried(service, engine, ctx, world):
    server_id = world.add_server()
    start = soon(1.5)
    lease = service.create_lease(ctx, lease_body(server_id, start, soon(3600)))
    world.wait_status(server_id, 'SHELVED_OFFLOADED')
    world.fail('unshelve_server', times=2)
    started = wait_status(service, ctx, lease['id'], 'ACTIVE')
    assert event_status(started, 'start_lease') == 'DONE'
    assert world.server(server_id).status == 'ACTIVE'


@sqlite_only
def test_a_lost_answer_to_unshelve_is_harmless(service, engine, ctx, world):
    server_id = world.add_server()
    lease = service.create_lease(ctx, lease_body(server_id, soon(1.5), soon(3600)))
    world.wait_status(server_id, 'SHELVED_OFFLOADED')
    world.fail('unshelve_server', after=True)
    wait_status(service, ctx, lease['id'], 'ACTIVE')
    assert world.server(server_id).status == 'ACTIVE'


@sqlite_only
def test_an_unshelve_that_times_out_is_retried_then_the_lease_fails_with_the_reason(
        service, engine, ctx, world, plugin_conf):
    server_id = world.add_server()
    lease = service.create_lease(ctx, lease_body(server_id, soon(1.5), soon(3600)))
    world.wait_status(server_id, 'SHELVED_OFFLOADED')
    plugin_conf.set_override('unshelve_timeout', 0.3, 'virtual:instance')
    world.set_action_delay(30)
    failed = wait_status(service, ctx, lease['id'], 'ERROR')
    assert failed['status_reason'].startswith('start_lease failed: ComputeTimeout: ')
    assert f'server {server_id} to reach ACTIVE' in failed['status_reason']
    assert event_status(failed, 'start_lease') == 'ERROR'
    assert failed['reservations'][0]['status'] == 'error'
    world.set_action_delay(0)


@sqlite_only
def test_a_permanent_nova_error_fails_the_lease_and_delete_gives_the_server_back(
        service, engine, ctx, world):
    server_id = world.add_server()
    lease = service.create_lease(ctx, lease_body(server_id, soon(1.5), soon(3600)))
    world.wait_status(server_id, 'SHELVED_OFFLOADED')
    world.fail('unshelve_server', retryable=False)
    failed = wait_status(service, ctx, lease['id'], 'ERROR')
    assert failed['status_reason'].startswith('start_lease failed: ComputeError: ')
    assert 'njected failure of unshelve_server' in failed['status_reason']
    # The server never became the lease's: deleting the lease does not destroy it.
    service.delete_lease(ctx, lease['id'])
    world.wait_status(server_id, 'ACTIVE')
    assert marks(world, server_id) == {}
    assert world.images() == {}


@sqlite_only
def test_a_failed_snapshot_is_made_again(service, engine, ctx, world):
    server_id = world.add_server()
    start = soon(1)
    lease = service.create_lease(ctx, lease_body(server_id, start, start + 1.5 * SECOND))
    wait_status(service, ctx, lease['id'], 'ACTIVE')
    world.set_action_delay(0.5)
    first = wait_for(lambda: list(world.images()))[0]
    world.kill_image(first)
    ended = wait_status(service, ctx, lease['id'], 'TERMINATED')
    image_id = ended['reservations'][0]['snapshots']['on_end']
    assert image_id != first
    assert world.images()[image_id][1] == 'active'
    assert not world.exists(server_id)


@sqlite_only
def test_errors_at_the_end_are_retried_and_the_server_still_deleted(service, engine,
                                                                    ctx, world):
    server_id = world.add_server()
    start = soon(1)
    lease = service.create_lease(ctx, lease_body(server_id, start, start + 1.5 * SECOND))
    wait_status(service, ctx, lease['id'], 'ACTIVE')
    world.fail('delete_server')               # before the request reaches Nova
    world.fail('delete_server', after=True)   # done by Nova, but the answer is lost
    ended = wait_status(service, ctx, lease['id'], 'TERMINATED')
    assert not world.exists(server_id)
    # One snapshot only: the retry found the one the failed attempt had made.
    assert len(world.images()) == 1
    assert not ended['reservations'][0]['missing_resources']


@sqlite_only
def test_a_failing_end_sets_the_lease_to_error_with_the_reason(service, engine, ctx,
                                                               world):
    server_id = world.add_server()
    start = soon(1)
    lease = service.create_lease(ctx, lease_body(server_id, start, start + 1.5 * SECOND,
                                                 on_end='delete'))
    wait_status(service, ctx, lease['id'], 'ACTIVE')
    world.fail('delete_server', times=100)
    failed = wait_status(service, ctx, lease['id'], 'ERROR')
    assert failed['status_reason'].startswith('end_lease failed: ComputeError: ')
    assert world.exists(server_id)


# Every step may run again (retries, take-over by another manager) ---------------------
@sqlite_only
@memory_only
def test_every_step_may_run_again_with_the_same_effect(service, ctx, world, plugin):
    server_id = world.add_server('twice')
    lease = service.create_lease(ctx, lease_body(server_id, soon(3600), soon(7200)))
    with db_api.reader.using(ctx):
        plain = lease_db.plain(ctx, lease['id'])
    reservation = plain['reservations'][0]
    plugin.prepare(ctx, plain, reservation)
    world.wait_status(server_id, 'SHELVED_OFFLOADED')
    for _ in range(2):
        plugin.on_start(ctx, plain, reservation)
        assert world.server(server_id).status == 'ACTIVE'
    plain['events']['start_lease'] = 'DONE'
    for _ in range(2):
        plugin.on_end(ctx, plain, reservation)
        assert not world.exists(server_id)
    assert len(world.images()) == 1
    assert world.faults.call_count('delete_server') == 1
