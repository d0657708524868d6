"""Scenario 2: instance reservation (Climate's original flow) against the real Nova
and Glance, with the lease created through Climate's API behind real Keystone.

A member of project alpha boots a server and reserves it for a later window with
``climate server-reserve``: it is shelved (SHELVED_OFFLOADED,
``climate:status=RESERVED``) until the start, ACTIVE again during the lease, and at the
end snapshotted into Glance and deleted. ``climate server-create`` boots and reserves
in one go.

Keystone trusts: the lease carries a trust from the member to Climate's service user
(impersonating, scoped to alpha); the snapshot is made through it, so the image
belongs to alpha (with Climate's own account it would belong to project ``service``);
the trust is revoked once the lease has ended.
"""

import uuid

from tests.integration import scenario


def _snapshots(openstack, name):
    response = openstack.glance('GET', f'/v2/images?name={name}')
    assert response.status_code == 200, response.text
    return response.json()['images']


def test_reserve_existing_server_for_a_later_window(openstack, climate, request):
    member = openstack.members['alpha']
    session = member.session()
    nova = openstack.nova(member)
    api = scenario.Reservations(session, climate.url)
    name = f'it-reserve-{uuid.uuid4().hex[:6]}'
    request.addfinalizer(lambda: _delete_snapshots(openstack, f'climate-snapshot-{name}'))
    with scenario.active_server(openstack, member, name) as server:
        start = scenario.in_seconds(30)
        end = scenario.in_seconds(25, since=start)
        lease = scenario.climate_cli(member, 'server-reserve', server.id,
                                     '--start', scenario.rfc3339(start),
                                     '--end', scenario.rfc3339(end), '--lease-name', name)
        assert lease['status'] == 'PENDING'
        assert lease['reservations'][0]['resource_id'] == server.id
        trust = scenario.trust(openstack, lease['trust_id'])
        assert trust['trustor_user_id'] == session.get_user_id()
        assert trust['trustee_user_id'] == openstack.climate.session().get_user_id()
        assert trust['project_id'] == openstack.project_ids['alpha']
        assert trust['impersonation'] is True

        # Before the start: shelved and offloaded, marked RESERVED for the lease.
        shelved = scenario.server_settled(nova, server.id, 'SHELVED_OFFLOADED',
                                          timeout=60)
        assert shelved.metadata['climate:status'] == 'RESERVED'
        assert shelved.metadata['climate:lease_id'] == lease['id']
        assert api.lease(lease['id'])['status'] == 'PENDING'

        # At the start: ACTIVE again.
        api.wait_lease(lease['id'], 'ACTIVE', timeout=90)
        active = scenario.server_settled(nova, server.id, 'ACTIVE', timeout=90)
        assert active.metadata['climate:status'] == 'ACTIVE'

        # At the end: a snapshot in Glance, the server gone.
        api.wait_lease(lease['id'], 'TERMINATED', timeout=180)
        scenario.server_gone(nova, server.id, timeout=60)
        images = _snapshots(openstack, f'climate-snapshot-{name}')
        assert len(images) == 1, images
        assert images[0]['status'] == 'active'
        assert images[0]['owner'] == openstack.project_ids['alpha']   # via the trust
        scenario.wait(lambda: scenario.trust(openstack, lease['trust_id']) is None,
                      'the trust to be deleted after the end', timeout=30)


def test_create_and_reserve_server(openstack, climate):
    member = openstack.members['alpha']
    session = member.session()
    nova = openstack.nova(member)
    api = scenario.Reservations(session, climate.url)
    name = f'it-create-{uuid.uuid4().hex[:6]}'
    start = scenario.in_seconds(40)
    lease = scenario.climate_cli(
        member, 'server-create', name, '--flavor', openstack.flavor_id,
        '--image', openstack.image_id, '--network', 'none', '--on-end', 'delete',
        '--start', scenario.rfc3339(start),
        '--end', scenario.rfc3339(scenario.in_seconds(20, since=start)), timeout=180)
    server_id = lease['server_id']
    try:
        assert lease['reservations'][0]['resource_id'] == server_id
        assert nova.servers.get(server_id).name == name
        shelved = scenario.server_settled(nova, server_id, 'SHELVED_OFFLOADED',
                                          timeout=60)
        assert shelved.metadata['climate:status'] == 'RESERVED'
        api.wait_lease(lease['id'], 'ACTIVE', timeout=90)
        scenario.server_settled(nova, server_id, 'ACTIVE', timeout=90)
        api.wait_lease(lease['id'], 'TERMINATED', timeout=120)
        scenario.server_gone(nova, server_id, timeout=60)
        assert not _snapshots(openstack, f'climate-snapshot-{name}')
    finally:
        scenario.delete_server(openstack.nova(), server_id)
        _delete_snapshots(openstack, f'climate-snapshot-{name}')


def _delete_snapshots(openstack, snapshot_name):
    for image in _snapshots(openstack, snapshot_name):
        openstack.glance('DELETE', f'/v2/images/{image["id"]}')
