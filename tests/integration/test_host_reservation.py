"""Scenario 1: host reservation against the real Nova and its scheduler with
ClimateFilter.

The operator enrolls both computes with ``climate host create`` (extra capabilities);
a member of alpha leases 1 host matching a property with ``climate lease create``.
Before the start the host is in the freepool and unhinted servers never land on it;
during the lease it is in the reservation's aggregate and only the owning project's
servers with ``--hint reservation=<id>`` land on it; at the end its servers are
deleted, it is back in the freepool and the aggregate is gone.
"""

import uuid

from tests.integration import scenario

FREEPOOL = scenario.FREEPOOL


def test_host_reservation(openstack, climate, enrolled):
    alpha, beta = openstack.members['alpha'], openstack.members['beta']
    nova_alpha, nova_beta, admin = (openstack.nova(alpha), openstack.nova(beta),
                                    openstack.nova())
    api = scenario.Reservations(alpha.session(), climate.url)
    tag = uuid.uuid4().hex[:6]
    assert {h['hypervisor_hostname'] for h in enrolled.values()} == {'cmp1', 'cmp2'}
    assert enrolled['cmp1']['gpu'] == 'yes'
    assert sorted(scenario.aggregate(admin, FREEPOOL).hosts) == ['cmp1', 'cmp2']

    start = scenario.in_seconds(25)
    end = scenario.in_seconds(30, since=start)
    lease = scenario.climate_cli(
        alpha, 'lease', 'create', f'it-hosts-{tag}',
        '--start-date', scenario.rfc3339(start), '--end-date', scenario.rfc3339(end),
        '--physical-reservation',
        'min=1,max=1,hypervisor_properties=,resource_properties=["=", "$gpu", "yes"]')
    servers = []
    try:
        lease = api.lease(lease['id'])
        assert lease['status'] == 'PENDING', lease
        reservation_id = lease['reservations'][0]['id']
        # Before the start: cmp1 in the freepool; an unhinted server never lands there
        # (every enrolled host is in the freepool, so it lands nowhere).
        assert 'cmp1' in scenario.aggregate(admin, FREEPOOL).hosts
        pending = scenario.aggregate(admin, reservation_id)   # made early, as Blazar
        assert pending is None or pending.hosts == []
        unhinted = scenario.boot(nova_alpha, f'it-unhinted-{tag}', openstack.image_id,
                                 openstack.flavor_id)
        servers.append(unhinted.id)
        unhinted = scenario.server_placed(nova_alpha, unhinted.id)
        assert scenario.host_of(admin.servers.get(unhinted.id)) != 'cmp1'

        # After the start: cmp1 in the reservation's aggregate, owned by alpha.
        api.wait_lease(lease['id'], 'ACTIVE', timeout=90)
        aggregate = scenario.aggregate(admin, reservation_id)
        assert aggregate is not None
        assert aggregate.hosts == ['cmp1']
        assert aggregate.availability_zone == f'climate_{reservation_id}'
        assert aggregate.metadata['climate:owner'] == openstack.project_ids['alpha']
        assert 'cmp1' not in scenario.aggregate(admin, FREEPOOL).hosts

        hint = {'reservation': reservation_id}
        mine = scenario.boot(nova_alpha, f'it-hinted-{tag}', openstack.image_id,
                             openstack.flavor_id, hints=hint)
        servers.append(mine.id)
        mine = scenario.server_placed(nova_alpha, mine.id)
        assert mine.status == 'ACTIVE'
        assert scenario.host_of(admin.servers.get(mine.id)) == 'cmp1'

        theirs = scenario.boot(nova_beta, f'it-intruder-{tag}', openstack.image_id,
                               openstack.flavor_id, hints=hint)
        servers.append(theirs.id)
        theirs = scenario.server_placed(nova_beta, theirs.id)
        assert theirs.status == 'ERROR'
        assert 'No valid host' in theirs.fault['message']

        # At the end: servers on cmp1 deleted, cmp1 back in the freepool, no aggregate.
        api.wait_lease(lease['id'], 'TERMINATED', timeout=120)
        scenario.server_gone(admin, mine.id, timeout=60)
        assert 'cmp1' in scenario.aggregate(admin, FREEPOOL).hosts
        assert scenario.aggregate(admin, reservation_id) is None
    finally:
        api.request('DELETE', f'/leases/{lease["id"]}')
        for server_id in servers:
            try:
                admin.servers.delete(server_id)
            except Exception:  # already gone
                pass
        for server_id in servers:
            scenario.server_gone(admin, server_id, timeout=60)
