"""Host failures against the real Nova: a nova-compute service disabled through
Nova's API under a pending and then an active lease. The manager runs the polling
monitor (``[physical:host] polling_interval = 2``, ``healing_interval = 0``, see
``conftest.climate``): within a few seconds the host is ``down`` in Climate, the pending
lease is moved to the other compute, the active lease's aggregate swaps the failed
compute for the other one; enabled again, the host is ``up``.
"""

import uuid

from tests.integration import scenario

FREEPOOL = scenario.FREEPOOL
NOTICE = 30   # seconds: polling_interval + healing + a loaded machine's slack


def held_host(api, lease_id):
    listed = api.ok('GET', f'/os-hosts/allocations?lease_id={lease_id}')['allocations']
    held = [entry['resource_id'] for entry in listed if entry['reservations']]
    return held[0] if len(held) == 1 else None


def host_status(api, host_id):
    return api.ok('GET', f'/os-hosts/{host_id}')['host']['status']


def one_host(name, start, end):
    return {'name': name, 'start_date': start, 'end_date': end,
            'reservations': [{'resource_type': 'physical:host', 'min': 1, 'max': 1,
                              'hypervisor_properties': '', 'resource_properties': ''}]}


def test_disabled_compute_is_healed_under_pending_and_active_leases(openstack, climate,
                                                                   enrolled):
    nova = openstack.nova()
    api = scenario.Reservations(openstack.operator.session(), climate.url)
    names = {host['id']: name for name, host in enrolled.items()}
    tag = uuid.uuid4().hex[:6]

    def service_of(host_id):
        return nova.services.list(host=names[host_id], binary='nova-compute')[0]

    # Pending: the lease moves to the other compute.
    pending = api.create_lease(**one_host(
        f'it-heal-pending-{tag}', scenario.rfc3339(scenario.in_seconds(3600)),
        scenario.rfc3339(scenario.in_seconds(3660))))
    first = held_host(api, pending['id'])
    service = service_of(first)
    nova.services.disable_log_reason(service.id, 'integration test')
    try:
        scenario.wait(lambda: host_status(api, first) == 'down',
                      f'host {first} to be down', timeout=NOTICE)
        scenario.wait(lambda: held_host(api, pending['id']) not in (None, first),
                      'the pending lease to move', timeout=NOTICE)
        shown = api.lease(pending['id'])
        assert shown['reservations'][0]['healing'][0]['action'] == 'replaced'
        assert shown['degraded'] is False
    finally:
        nova.services.enable(service.id)
    scenario.wait(lambda: host_status(api, first) == 'up', f'host {first} to be up',
                  timeout=NOTICE)
    api.ok('DELETE', f'/leases/{pending["id"]}')

    # Active: the aggregate swaps the failed compute for the other one.
    active = api.create_lease(**one_host(
        f'it-heal-active-{tag}', 'now', scenario.rfc3339(scenario.in_seconds(600))))
    api.wait_lease(active['id'], 'ACTIVE', timeout=90)
    reservation_id = active['reservations'][0]['id']
    failing = held_host(api, active['id'])
    other = next(h for h in names if h != failing)
    assert scenario.aggregate(nova, reservation_id).hosts == [names[failing]]
    service = service_of(failing)
    nova.services.disable_log_reason(service.id, 'integration test')
    try:
        scenario.wait(lambda: scenario.aggregate(nova, reservation_id).hosts ==
                      [names[other]], 'the aggregate to hold the other compute',
                      timeout=NOTICE)
        assert names[failing] in scenario.aggregate(nova, FREEPOOL).hosts
        shown = api.lease(active['id'])
        assert shown['reservations'][0]['resources_changed'] is True
        assert held_host(api, active['id']) == other
    finally:
        nova.services.enable(service.id)
    scenario.wait(lambda: host_status(api, failing) == 'up',
                  f'host {failing} to be up', timeout=NOTICE)
