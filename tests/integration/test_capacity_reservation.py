"""Scenario: a capacity reservation (virtual:instance without resource_id, Blazar's
capacity mode) against the real Nova and its scheduler with ClimateFilter.

A member of alpha reserves room for 2 instances on distinct hosts (anti-affinity) with
``climate lease create --reservation resource_type=virtual:instance,…``. Before the
start there is no flavor to boot with; during the lease the reservation's private
flavor (id = reservation id) boots the owner's servers on the reservation's hosts,
another project can neither see nor use it, and ordinary boots stay off the hosts; at
the end the servers are deleted and the flavor and aggregate are gone.
"""

import uuid

from novaclient import exceptions as nova_exc
import pytest

from tests.integration import scenario


def test_capacity_reservation(openstack, climate, enrolled):
    alpha, beta = openstack.members['alpha'], openstack.members['beta']
    nova_alpha, nova_beta, admin = (openstack.nova(alpha), openstack.nova(beta),
                                    openstack.nova())
    api = scenario.Reservations(alpha.session(), climate.url)
    tag = uuid.uuid4().hex[:6]
    start = scenario.in_seconds(20)
    end = scenario.in_seconds(40, since=start)
    lease = scenario.climate_cli(
        alpha, 'lease', 'create', f'it-capacity-{tag}',
        '--start-date', scenario.rfc3339(start), '--end-date', scenario.rfc3339(end),
        '--reservation', 'resource_type=virtual:instance,vcpus=1,memory_mb=256,'
        'disk_gb=1,amount=2,affinity=False,resource_properties=')
    servers = []
    try:
        reservation = lease['reservations'][0] if isinstance(
            lease['reservations'], list) else api.lease(lease['id'])['reservations'][0]
        flavor, group = reservation['id'], reservation['server_group_id']
        assert lease['boot_with'] == f'--flavor {flavor} --hint group={group}'
        # The anti-affinity group is the owner's (made through the lease's trust).
        made = nova_alpha.server_groups.get(group).to_dict()
        assert (made.get('policy') or made['policies'][0]) == 'anti-affinity'
        with pytest.raises(nova_exc.NotFound):
            admin.flavors.get(flavor)               # not before the start
        api.wait_lease(lease['id'], 'ACTIVE', timeout=90)
        aggregate = scenario.aggregate(admin, reservation['id'])
        assert aggregate is not None and aggregate.hosts
        assert aggregate.metadata['reservation'] == reservation['id']

        booted = []
        for index in range(2):
            server = scenario.boot(nova_alpha, f'it-cap-{tag}-{index}',
                                   openstack.image_id, flavor, {'group': group})
            servers.append(server.id)
            booted.append(scenario.server_placed(nova_alpha, server.id))
        assert [s.status for s in booted] == ['ACTIVE', 'ACTIVE'], \
            [getattr(s, 'fault', None) for s in booted]
        hosts = [scenario.host_of(admin.servers.get(s.id)) for s in booted]
        assert set(hosts) <= set(aggregate.hosts) and len(set(hosts)) == 2
        # A third boot (without the group, so only the slots refuse it): no valid host.
        third = scenario.boot(nova_alpha, f'it-cap-{tag}-2', openstack.image_id, flavor)
        servers.append(third.id)
        assert scenario.server_placed(nova_alpha, third.id).status == 'ERROR'

        with pytest.raises(nova_exc.ClientException):
            nova_beta.flavors.get(flavor)
        with pytest.raises(nova_exc.ClientException):
            scenario.boot(nova_beta, f'it-cap-beta-{tag}', openstack.image_id, flavor)

        api.wait_lease(lease['id'], 'TERMINATED', timeout=120)
        for server_id in servers:
            scenario.server_gone(admin, server_id)
        with pytest.raises(nova_exc.NotFound):
            admin.flavors.get(flavor)
        assert scenario.aggregate(admin, reservation['id']) is None
        with pytest.raises(nova_exc.NotFound):
            nova_alpha.server_groups.get(group)
    finally:
        for server_id in servers:
            scenario.delete_server(admin, server_id)


def test_flavor_reservation(openstack, climate, enrolled):
    """flavor:instance: ``amount`` instances of the cloud's flavor; the reservation
    flavor copies its size; a boot beyond ``amount`` gets no valid host; the end
    cleans up."""
    alpha = openstack.members['alpha']
    nova_alpha, admin = openstack.nova(alpha), openstack.nova()
    api = scenario.Reservations(alpha.session(), climate.url)
    tag = uuid.uuid4().hex[:6]
    source = admin.flavors.get(openstack.flavor_id)
    start = scenario.in_seconds(20)
    end = scenario.in_seconds(40, since=start)
    lease = scenario.climate_cli(
        alpha, 'lease', 'create', f'it-flavor-{tag}',
        '--start-date', scenario.rfc3339(start), '--end-date', scenario.rfc3339(end),
        '--reservation',
        f'resource_type=flavor:instance,flavor_id={openstack.flavor_id},amount=1')
    servers = []
    try:
        reservation = api.lease(lease['id'])['reservations'][0]
        assert (reservation['vcpus'], reservation['memory_mb']) == (source.vcpus,
                                                                   source.ram)
        flavor = reservation['flavor_id']
        api.wait_lease(lease['id'], 'ACTIVE', timeout=90)
        copy = admin.flavors.get(flavor)
        assert (copy.vcpus, copy.ram, copy.disk) == (source.vcpus, source.ram,
                                                      source.disk)
        first = scenario.boot(nova_alpha, f'it-flv-{tag}-0', openstack.image_id, flavor)
        servers.append(first.id)
        assert scenario.server_placed(nova_alpha, first.id).status == 'ACTIVE'
        second = scenario.boot(nova_alpha, f'it-flv-{tag}-1', openstack.image_id, flavor)
        servers.append(second.id)
        assert scenario.server_placed(nova_alpha, second.id).status == 'ERROR'
        api.wait_lease(lease['id'], 'TERMINATED', timeout=120)
        scenario.server_gone(admin, first.id)
        with pytest.raises(nova_exc.NotFound):
            admin.flavors.get(flavor)
    finally:
        for server_id in servers:
            scenario.delete_server(admin, server_id)
