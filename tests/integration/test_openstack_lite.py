"""Smoke tests of the environment through what Climate uses: python-novaclient and
keystoneauth1 sessions against real Keystone, Nova, Placement and Glance.

Each test checks a behaviour Climate relies on (capacities, aggregates, hints,
shelve/unshelve, snapshots, users and catalog), not just the absence of errors.
"""

import concurrent.futures
import dataclasses
import time
import uuid

from keystoneauth1 import exceptions as ks_exc
from novaclient import exceptions as nova_exc
import pytest

from tests.integration.openstack_lite import provision
from tests.integration.openstack_lite import settings as settings_mod

GiB = 1024


def _wait(predicate, what, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f'timed out after {timeout} s waiting for {what}')
        time.sleep(0.3)


def _wait_status(nova, server_id, status):
    def settled():
        server = nova.servers.get(server_id)
        if server.status == 'ERROR':
            pytest.fail(f'server {server_id} went to ERROR: {getattr(server, "fault", "")}')
        task = getattr(server, 'OS-EXT-STS:task_state', None)
        return server if server.status == status and task is None else None
    return _wait(settled, f'server {server_id} to be {status}')


def _wait_gone(nova, server_id):
    def gone():
        try:
            nova.servers.get(server_id)
        except nova_exc.NotFound:
            return True
        return False
    _wait(gone, f'server {server_id} to be deleted')


def _host(server):
    return getattr(server, 'OS-EXT-SRV-ATTR:host')


def _usage(openstack, host):
    """VCPU/MEMORY_MB/DISK_GB used on ``host``'s resource provider in Placement."""
    providers = openstack.placement(f'/resource_providers?name={host}')['resource_providers']
    return openstack.placement(
        f'/resource_providers/{providers[0]["uuid"]}/usages')['usages']


@pytest.fixture
def servers(openstack):
    """Boot servers (``networks='none'``) that are deleted after the test."""
    admin = openstack.nova()
    created = []

    def boot(name, creds=None, hints=None):
        nova = openstack.nova(creds) if creds else admin
        server = nova.servers.create(f'osl-{name}-{uuid.uuid4().hex[:6]}',
                                     openstack.image_id, openstack.flavor_id,
                                     nics='none', scheduler_hints=hints or {})
        created.append(server.id)
        return _wait_status(admin, server.id, 'ACTIVE')

    yield boot
    for server_id in created:
        try:
            admin.servers.delete(server_id)
        except nova_exc.NotFound:
            continue
    for server_id in created:
        _wait_gone(admin, server_id)


def test_hypervisors_report_distinct_capacities(openstack):
    nova = openstack.nova(microversion='2.87')
    seen = {h.hypervisor_hostname: h for h in nova.hypervisors.list()}
    assert set(seen) == {'cmp1', 'cmp2'}
    assert {(h.vcpus, h.memory_mb, h.local_gb) for h in seen.values()} == {
        (16, 64 * GiB, 500), (8, 32 * GiB, 200)}
    for name, compute in openstack.hosts.items():
        shown = nova.hypervisors.get(seen[name].id)
        assert (shown.state, shown.status) == ('up', 'enabled')
        assert (shown.vcpus, shown.memory_mb, shown.local_gb) == (
            compute.vcpus, compute.memory_mb, compute.local_gb)
        assert shown.hypervisor_type == 'fake'


def test_placement_inventories_match_capacities(openstack):
    for name, compute in openstack.hosts.items():
        providers = openstack.placement(
            f'/resource_providers?name={name}')['resource_providers']
        assert len(providers) == 1
        inventories = openstack.placement(
            f'/resource_providers/{providers[0]["uuid"]}/inventories')['inventories']
        totals = {rc: (inv['total'], inv['reserved'], inv['allocation_ratio'])
                  for rc, inv in inventories.items()}
        assert totals == {'VCPU': (compute.vcpus, 0, 1.0),
                          'MEMORY_MB': (compute.memory_mb, 0, 1.0),
                          'DISK_GB': (compute.local_gb, 0, 1.0)}


def test_racing_placement_claims_stay_within_capacity(openstack):
    """Six claims of one unit racing for a provider with two: at most two win, in each
    of five rounds. Capacity reservations rely on it; it holds only with the
    ``[placement] allocation_conflict_retry_count = 1`` that Climate's install guide
    asks for (with Placement's default, 25 rounds of 30 over-allocated)."""
    racers, total = 6, 2
    headers = {'OpenStack-API-Version': 'placement 1.36'}
    endpoint = {'service_type': 'placement'}
    admin = openstack.admin_session
    resource_class = 'CUSTOM_OSL_RACE'
    sessions = [openstack.session() for _ in range(racers)]
    project_id, user_id = uuid.uuid4().hex, uuid.uuid4().hex

    def request(session, method, path, body=None):
        return session.request(path, method, endpoint_filter=endpoint, json=body,
                               headers=headers, raise_exc=False).status_code

    assert request(admin, 'PUT', f'/resource_classes/{resource_class}') in (201, 204)
    for _ in range(5):
        provider = str(uuid.uuid4())
        consumers = [str(uuid.uuid4()) for _ in range(racers)]
        assert request(admin, 'POST', '/resource_providers',
                       {'name': f'osl-race-{provider}', 'uuid': provider}) == 200
        try:
            assert request(admin, 'PUT', f'/resource_providers/{provider}/inventories', {
                'resource_provider_generation': 0,
                'inventories': {resource_class: {'total': total}}}) == 200

            def claim(index):
                return request(sessions[index], 'PUT', f'/allocations/{consumers[index]}', {
                    'allocations': {provider: {'resources': {resource_class: 1}}},
                    'consumer_generation': None, 'project_id': project_id,
                    'user_id': user_id})
            with concurrent.futures.ThreadPoolExecutor(racers) as pool:
                statuses = list(pool.map(claim, range(racers)))
            assert set(statuses) <= {204, 409}, statuses
            assert statuses.count(204) <= total, statuses
            usages = openstack.placement(f'/resource_providers/{provider}/usages')
            assert usages['usages'].get(resource_class, 0) == statuses.count(204)
        finally:
            for consumer in consumers:
                request(admin, 'DELETE', f'/allocations/{consumer}')
            request(admin, 'DELETE', f'/resource_providers/{provider}')
    request(admin, 'DELETE', f'/resource_classes/{resource_class}')


def test_aggregate_lifecycle(openstack):
    nova = openstack.nova()
    name = f'osl-agg-{uuid.uuid4().hex[:8]}'
    aggregate = nova.aggregates.create(name, None)
    try:
        assert (aggregate.hosts, aggregate.metadata) == ([], {})
        aggregate = nova.aggregates.add_host(aggregate, 'cmp1')
        assert aggregate.hosts == ['cmp1']
        with pytest.raises(nova_exc.Conflict):
            nova.aggregates.add_host(aggregate, 'cmp1')
        with pytest.raises(nova_exc.NotFound):
            nova.aggregates.add_host(aggregate, 'no-such-host')
        aggregate = nova.aggregates.set_metadata(aggregate, {'reservation': 'r-1',
                                                             'note': 'smoke'})
        assert aggregate.metadata == {'reservation': 'r-1', 'note': 'smoke'}
        aggregate = nova.aggregates.set_metadata(aggregate, {'note': None})  # unset
        assert nova.aggregates.get(aggregate.id).metadata == {'reservation': 'r-1'}
        aggregate = nova.aggregates.remove_host(aggregate, 'cmp1')
        assert nova.aggregates.get(aggregate.id).hosts == []
    finally:
        for host in nova.aggregates.get(aggregate.id).hosts:
            nova.aggregates.remove_host(aggregate, host)
        nova.aggregates.delete(aggregate)
    assert name not in {a.name for a in nova.aggregates.list()}


def test_members_cannot_manage_aggregates(openstack):
    member = openstack.nova(openstack.members['alpha'])
    with pytest.raises(nova_exc.Forbidden):
        member.aggregates.create(f'osl-forbidden-{uuid.uuid4().hex[:6]}', None)


def test_scheduler_hints_steer_placement(openstack, servers):
    """An extra filter (loaded like Climate's) and Nova's own hints both apply."""
    assert settings_mod.PROBE_FILTER in openstack.scheduler_filters
    assert (settings_mod.CLIMATE_FILTER in openstack.scheduler_filters) == (
        settings_mod.climate_filter_present())
    admin = openstack.nova()
    first = servers('hint-only', hints={'osl_only_host': 'cmp2'})
    assert _host(first) == 'cmp2'
    second = servers('hint-diff', hints={'different_host': [first.id]})
    assert _host(second) == 'cmp1'
    third = servers('hint-only', creds=openstack.members['beta'],
                    hints={'osl_only_host': 'cmp1'})
    assert _host(admin.servers.get(third.id)) == 'cmp1'
    assert admin.servers.get(third.id).tenant_id == openstack.project_ids['beta']


def test_shelve_offload_and_unshelve(openstack, servers):
    admin = openstack.nova()
    server = servers('shelve', creds=openstack.members['alpha'],
                     hints={'osl_only_host': 'cmp2'})
    server = admin.servers.get(server.id)
    assert _host(server) == 'cmp2'
    assert _usage(openstack, 'cmp2')['VCPU'] == 1

    admin.servers.shelve(server)
    _wait_status(admin, server.id, 'SHELVED_OFFLOADED')
    # Placement frees the allocation before the status changes...
    assert _usage(openstack, 'cmp2')['VCPU'] == 0
    # ...but Nova clears the host in a later save: wait for it, as Climate must.
    _wait(lambda: _host(admin.servers.get(server.id)) is None, 'host to be cleared')

    admin.servers.unshelve(server)
    active = _wait_status(admin, server.id, 'ACTIVE')
    assert _host(active) == 'cmp2'  # re-scheduled with the hint it was booted with
    assert _usage(openstack, 'cmp2')['VCPU'] == 1

    admin.servers.delete(server)
    _wait_gone(admin, server.id)
    assert _usage(openstack, 'cmp2')['VCPU'] == 0


def test_create_image_is_visible_in_glance(openstack, servers):
    admin = openstack.nova()
    server = servers('snapshot')
    image_id = admin.servers.create_image(server, f'osl-snap-{server.id[:8]}')
    try:
        _wait_status(admin, server.id, 'ACTIVE')
        response = openstack.glance('GET', f'/v2/images/{image_id}')
        assert response.status_code == 200
        image = response.json()
        assert image['name'] == f'osl-snap-{server.id[:8]}'
        assert image['instance_uuid'] == server.id
        assert image['image_type'] == 'snapshot'
        # SizedFakeDriver uploads a few bytes: the snapshot becomes active.
        assert image['status'] in ('queued', 'saving', 'active')
    finally:
        assert openstack.glance('DELETE', f'/v2/images/{image_id}').status_code == 204
    assert openstack.glance('GET', f'/v2/images/{image_id}').status_code == 404


def test_provisioned_flavor_and_image(openstack):
    flavor = openstack.nova().flavors.get(openstack.flavor_id)
    assert (flavor.name, flavor.vcpus, flavor.ram, flavor.disk) == (
        'climate.tiny', 1, 512, 1)
    image = openstack.glance('GET', f'/v2/images/{openstack.image_id}').json()
    assert (image['name'], image['status'], image['visibility']) == (
        'climate-tiny', 'active', 'public')


def test_users_projects_and_catalog(openstack):
    for project, creds in openstack.members.items():
        session = creds.session()
        access = session.auth.get_access(session)
        assert access.project_name == project
        assert access.project_id == openstack.project_ids[project]
        assert 'member' in access.role_names and 'admin' not in access.role_names
    climate = openstack.climate.session()
    access = climate.auth.get_access(climate)
    assert access.project_name == 'service' and 'admin' in access.role_names
    assert climate.get_endpoint(service_type='reservation',
                                interface='public') == openstack.reservation_url
    operator = openstack.operator.session()
    assert 'admin' in operator.auth.get_access(operator).role_names
    for service_type, url in openstack.endpoints.items():
        assert climate.get_endpoint(service_type=service_type, interface='public') == url
    wrong = dataclasses.replace(openstack.members['alpha'], password='wrong')
    with pytest.raises(ks_exc.Unauthorized):
        wrong.session().get_token()


def test_clean_stale_empties_freepool_and_reservation_aggregates(openstack):
    nova = openstack.nova()
    freepool = nova.aggregates.create('freepool', None)
    for host in openstack.hosts:
        nova.aggregates.add_host(freepool, host)
    reserved = nova.aggregates.create(str(uuid.uuid4()), None)
    nova.aggregates.set_metadata(reserved, {'reservation': 'stale'})

    removed = provision.clean_stale(openstack.admin_session)

    assert sorted(removed['aggregates']['freepool']) == sorted(openstack.hosts)
    assert removed['aggregates'][reserved.name] == []
    assert nova.aggregates.list() == []
