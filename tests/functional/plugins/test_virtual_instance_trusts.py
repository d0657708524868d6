"""Leases of servers and Keystone trusts, through the real lease service and event
engine, on the in-memory driver and on the Nova driver against the HTTP double of
Nova and Keystone (the integration tier does the same against real Keystone, Nova
and Glance).

A lease made with a user's token gets a trust from that user; its snapshot is made
through it and so belongs to the user's project; the trust is gone once the lease has
ended or is deleted. Without a usable trust the lease is served with Climate's own
account.
"""

import datetime

from tests.functional.plugins.conftest import OTHER_PROJECT
from tests.functional.plugins.conftest import lease_body
from tests.functional.plugins.conftest import soon
from tests.functional.plugins.conftest import sqlite_only
from tests.functional.plugins.conftest import wait_for
from tests.functional.plugins.conftest import wait_status

SECOND = datetime.timedelta(seconds=1)


def _snapshot_owner(world, lease):
    return world.image_owner(lease['reservations'][0]['snapshots']['on_end'])


@sqlite_only
def test_the_snapshot_is_made_as_the_owner_and_the_trust_revoked_at_the_end(
        service, engine, world):
    user = world.user_context()
    server_id = world.add_server('vm-t', project_id=OTHER_PROJECT)
    start = soon(1)
    lease = service.create_lease(user, lease_body(server_id, start, start + 2 * SECOND))
    assert lease['trust_id'] in world.trust_ids()

    ended = wait_status(service, user, lease['id'], 'TERMINATED')
    assert ended['trust_id'] == lease['trust_id']
    assert _snapshot_owner(world, ended) == OTHER_PROJECT != world.service_project
    wait_for(lambda: lease['trust_id'] not in world.trust_ids())


@sqlite_only
def test_a_revoked_trust_falls_back_to_climates_own_account(service, engine, world):
    user = world.user_context()
    server_id = world.add_server('vm-r', project_id=OTHER_PROJECT)
    start = soon(1)
    lease = service.create_lease(user, lease_body(server_id, start, start + 2 * SECOND))
    world.driver.delete_trust(lease['trust_id'])     # e.g. the user left the project

    ended = wait_status(service, user, lease['id'], 'TERMINATED')
    assert not ended['degraded']
    assert _snapshot_owner(world, ended) == world.service_project


@sqlite_only
def test_without_a_token_there_is_no_trust(service, engine, ctx, world):
    server_id = world.add_server('vm-n')
    start = soon(1)
    lease = service.create_lease(ctx, lease_body(server_id, start, start + 2 * SECOND))
    assert lease['trust_id'] is None
    assert world.trust_ids() == set()
    ended = wait_status(service, ctx, lease['id'], 'TERMINATED')
    assert _snapshot_owner(world, ended) == world.service_project


@sqlite_only
def test_deleting_a_lease_revokes_its_trust(service, world):
    user = world.user_context()
    server_id = world.add_server('vm-d', project_id=OTHER_PROJECT)
    lease = service.create_lease(user, lease_body(server_id, soon(3600), soon(7200)))
    assert lease['trust_id'] in world.trust_ids()
    service.delete_lease(user, lease['id'])
    assert world.trust_ids() == set()


@sqlite_only
def test_a_lease_that_cannot_be_made_leaves_no_trust(service, world):
    user = world.user_context()
    server_id = world.add_server('vm-f', project_id=OTHER_PROJECT)
    world.fail('set_server_metadata', retryable=True)    # Nova fails while preparing
    try:
        service.create_lease(user, lease_body(server_id, soon(3600), soon(7200)))
    except Exception as error:
        assert getattr(error, 'code', None) == 503, error
    else:
        raise AssertionError('the lease was made although Nova failed')
    assert service.list_leases(user) == []
    assert world.trust_ids() == set()


@sqlite_only
def test_when_keystone_refuses_the_trust_the_lease_is_still_made(service, world):
    user = world.user_context()
    user.auth_token = 'not-a-token-keystone-knows'
    server_id = world.add_server('vm-k', project_id=OTHER_PROJECT)
    if world.kind == 'memory':
        world.faults.inject_failure('create_trust', retryable=False)
    lease = service.create_lease(user, lease_body(server_id, soon(3600), soon(7200)))
    assert lease['status'] == 'PENDING'
    assert lease['trust_id'] is None
    assert world.trust_ids() == set()
