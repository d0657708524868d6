"""Scenario 3: lease update and delete against the real Nova.

An active host lease is prolonged (its host stays in the reservation's aggregate past
the old end), then shortened (it ends at the new end); a pending lease and an active
one are deleted. Nova ends up clean each time: no reservation aggregate, both hosts in
the freepool, no server left on the reserved host.
"""

import datetime
import time
import uuid

from tests.integration import scenario

GPU = 'min=1,max=1,hypervisor_properties=,resource_properties=["=", "$gpu", "yes"]'


def _create(alpha, name, start, end):
    return scenario.climate_cli(alpha, 'lease', 'create', name,
                                '--start-date', scenario.rfc3339(start),
                                '--end-date', scenario.rfc3339(end),
                                '--physical-reservation', GPU)


def _assert_clean(admin, reservation_id):
    assert scenario.aggregate(admin, reservation_id) is None
    assert sorted(scenario.aggregate(admin, scenario.FREEPOOL).hosts) == ['cmp1', 'cmp2']
    on_cmp1 = [s.id for s in admin.servers.list(search_opts={'all_tenants': 1,
                                                             'host': 'cmp1'})]
    assert on_cmp1 == []


def _date(text):
    return datetime.datetime.fromisoformat(text.replace('Z', '')).replace(
        tzinfo=datetime.timezone.utc)


def _hinted_server(openstack, nova, reservation_id, name):
    server = scenario.boot(nova, name, openstack.image_id, openstack.flavor_id,
                           hints={'reservation': reservation_id})
    server = scenario.server_placed(nova, server.id)
    assert server.status == 'ACTIVE'
    assert scenario.host_of(openstack.nova().servers.get(server.id)) == 'cmp1'
    return server


def test_prolong_then_shorten_an_active_lease(openstack, climate, enrolled):
    alpha = openstack.members['alpha']
    api = scenario.Reservations(alpha.session(), climate.url)
    nova, admin = openstack.nova(alpha), openstack.nova()
    tag = uuid.uuid4().hex[:6]
    start = scenario.in_seconds(15)
    lease = _create(alpha, f'it-update-{tag}', start, scenario.in_seconds(20, since=start))
    lease = api.wait_lease(lease['id'], 'ACTIVE', timeout=60)
    reservation_id = lease['reservations'][0]['id']
    server = _hinted_server(openstack, nova, reservation_id, f'it-update-{tag}')

    # Prolong by 40 s: still active, host still reserved past the old end.
    old_end = _date(lease['end_date'])
    scenario.climate_cli(alpha, 'lease', 'set', lease['id'], '--prolong-for', '40s')
    prolonged = api.lease(lease['id'])
    assert _date(prolonged['end_date']) == old_end + datetime.timedelta(seconds=40)
    wait = (old_end - datetime.datetime.now(datetime.timezone.utc)).total_seconds() + 5
    time.sleep(max(wait, 0))
    assert api.lease(lease['id'])['status'] == 'ACTIVE'
    assert scenario.aggregate(admin, reservation_id).hosts == ['cmp1']
    assert nova.servers.get(server.id).status == 'ACTIVE'

    # Shorten to a few seconds from now: it ends then, and Nova is clean.
    new_end = scenario.in_seconds(6)
    scenario.climate_cli(alpha, 'lease', 'set', lease['id'],
                         '--end-date', scenario.rfc3339(new_end))
    assert _date(api.lease(lease['id'])['end_date']) == new_end
    api.wait_lease(lease['id'], 'TERMINATED', timeout=60)
    scenario.server_gone(admin, server.id, timeout=60)
    _assert_clean(admin, reservation_id)


def test_delete_a_pending_and_an_active_lease(openstack, climate, enrolled):
    alpha = openstack.members['alpha']
    api = scenario.Reservations(alpha.session(), climate.url)
    nova, admin = openstack.nova(alpha), openstack.nova()
    tag = uuid.uuid4().hex[:6]

    start = scenario.in_seconds(3600)
    pending = _create(alpha, f'it-pending-{tag}', start,
                      scenario.in_seconds(3600, since=start))
    pending = api.lease(pending['id'])
    assert pending['status'] == 'PENDING'
    scenario.climate_cli(alpha, 'lease', 'delete', pending['id'], output=False)
    assert api.request('GET', f'/leases/{pending["id"]}').status_code == 404
    _assert_clean(admin, pending['reservations'][0]['id'])

    start = scenario.in_seconds(12)
    active = _create(alpha, f'it-active-{tag}', start,
                     scenario.in_seconds(3600, since=start))
    active = api.wait_lease(active['id'], 'ACTIVE', timeout=60)
    reservation_id = active['reservations'][0]['id']
    server = _hinted_server(openstack, nova, reservation_id, f'it-active-{tag}')
    scenario.climate_cli(alpha, 'lease', 'delete', active['id'], output=False)
    scenario.wait(lambda: api.request('GET', f'/leases/{active["id"]}').status_code == 404,
                  f'lease {active["id"]} to be deleted', timeout=60)
    scenario.server_gone(admin, server.id, timeout=60)
    _assert_clean(admin, reservation_id)
