"""Scenario: a capacity reservation (virtual:instance without resource_id, Blazar's
capacity mode) against the real Nova and its scheduler with ClimateFilter.

A member of alpha reserves room for 2 instances on distinct hosts (anti-affinity) with
``climate lease create --reservation resource_type=virtual:instance,…``. Before the
start there is no flavor to boot with; during the lease the reservation's private
flavor (id = reservation id) boots the owner's servers on the reservation's hosts,
another project can neither see nor use it, and ordinary boots stay off the hosts; at
the end the servers are deleted and the flavor and aggregate are gone.
"""

import concurrent.futures
import uuid

from novaclient import exceptions as nova_exc
import pytest

from tests.integration import scenario


def _create_lease(member, name, reservation, seconds=40):
    """``climate lease create`` as ``member``: ``reservation`` from 20 s from now, for
    ``seconds``."""
    start = scenario.in_seconds(20)
    end = scenario.in_seconds(seconds, since=start)
    return scenario.climate_cli(
        member, 'lease', 'create', name, '--start-date', scenario.rfc3339(start),
        '--end-date', scenario.rfc3339(end), '--reservation', reservation)


def test_capacity_reservation(openstack, climate, enrolled):
    alpha, beta = openstack.members['alpha'], openstack.members['beta']
    nova_alpha, nova_beta, admin = (openstack.nova(alpha), openstack.nova(beta),
                                    openstack.nova())
    api = scenario.Reservations(alpha.session(), climate.url)
    tag = uuid.uuid4().hex[:6]
    lease = _create_lease(alpha, f'it-capacity-{tag}',
                          'resource_type=virtual:instance,vcpus=1,memory_mb=256,'
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
    lease = _create_lease(
        alpha, f'it-flavor-{tag}',
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


def _placement(openstack, path):
    """``(status, JSON or None)`` of a GET to Placement as the admin."""
    response = openstack.admin_session.get(
        path, endpoint_filter={'service_type': 'placement'}, raise_exc=False,
        headers={'OpenStack-API-Version': 'placement 1.39'})
    return response.status_code, (response.json() if response.content else None)


def _units(openstack, resource_class):
    """``{provider name: (total, used)}`` of the class over every provider."""
    _, listing = _placement(openstack, '/resource_providers')
    found = {}
    for provider in listing['resource_providers']:
        _, inventories = _placement(
            openstack, f'/resource_providers/{provider["uuid"]}/inventories')
        record = inventories['inventories'].get(resource_class)
        if record is not None:
            _, usages = _placement(openstack,
                                   f'/resource_providers/{provider["uuid"]}/usages')
            found[provider['name']] = (record['total'],
                                       usages['usages'].get(resource_class, 0))
    return found


def test_only_placement_refuses_the_extra_boots(openstack, climate, enrolled):
    """amount=2, four boots of the flavor at once, without a server group: exactly two
    become ACTIVE, the others ERROR (no valid host). ClimateFilter's slots are raised
    first, so that only Placement (one unit of CUSTOM_RESERVATION_<id> per boot,
    claimed atomically) can refuse them. At the end the units and the class are
    gone."""
    alpha = openstack.members['alpha']
    admin = openstack.nova()
    api = scenario.Reservations(alpha.session(), climate.url)
    tag = uuid.uuid4().hex[:6]
    lease = _create_lease(alpha, f'it-race-{tag}',
                          'resource_type=virtual:instance,vcpus=1,memory_mb=256,'
                          'disk_gb=1,amount=2,resource_properties=', seconds=60)
    servers = []
    try:
        reservation = api.lease(lease['id'])['reservations'][0]
        flavor = reservation['id']
        resource_class = 'CUSTOM_RESERVATION_' + flavor.upper().replace('-', '_')
        api.wait_lease(lease['id'], 'ACTIVE', timeout=90)
        units = _units(openstack, resource_class)
        assert sum(total for total, _ in units.values()) == 2, units
        assert all(name.startswith('climate:') for name in units), units
        assert admin.flavors.get(flavor).get_keys()[f'resources:{resource_class}'] == '1'
        aggregate = scenario.aggregate(admin, reservation['id'])
        admin.aggregates.set_metadata(aggregate.id, {
            f'climate:slots:{host}': '10' for host in aggregate.hosts})

        def boot(index):
            # One client (and session) per thread: the boots really overlap.
            nova = openstack.nova(alpha)
            return scenario.boot(nova, f'it-race-{tag}-{index}', openstack.image_id,
                                 flavor).id
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            servers = list(pool.map(boot, range(4)))
        nova_alpha = openstack.nova(alpha)
        placed = [scenario.server_placed(nova_alpha, s) for s in servers]
        statuses = sorted(s.status for s in placed)
        assert statuses == ['ACTIVE', 'ACTIVE', 'ERROR', 'ERROR'], \
            [getattr(s, 'fault', None) for s in placed]
        for server in placed:
            if server.status == 'ERROR':
                assert 'No valid host' in server.fault['message'], server.fault
        units = _units(openstack, resource_class)
        assert sum(used for _, used in units.values()) == 2, units
        # The operator's check of the same (climate-status, against this Placement).
        assert climate.upgrade_check()['Reservation units in Placement'] == (
            0, 'No reservation provider in Placement holds more units than it offers.')

        api.wait_lease(lease['id'], 'TERMINATED', timeout=150)
        for server_id in servers:
            scenario.server_gone(admin, server_id)
        assert _units(openstack, resource_class) == {}
        status, _ = _placement(openstack, f'/resource_classes/{resource_class}')
        assert status == 404
        assert not [p for p in _placement(openstack, '/resource_providers')[1][
            'resource_providers'] if p['name'].startswith('climate:')]
    finally:
        for server_id in servers:
            scenario.delete_server(admin, server_id)
