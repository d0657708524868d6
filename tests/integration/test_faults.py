"""Scenario 6: faults.

* nova-api stopped when a host lease starts: the start event fails with "cannot reach
  Nova", is retried with back-off while the lease shows STARTING and the event its
  error, and the lease becomes ACTIVE once nova-api answers again;
* climate-manager killed with SIGKILL during a lease start: after a restart the lease
  converges (the dead manager's claim on the start event is reclaimed once its
  heartbeat stops, ``[manager] claim_timeout`` = 10 s here).
"""

import uuid

from climate.client import servers as client_servers
from tests.integration import scenario


def _start_event(lease):
    return next(e for e in lease['events'] if e['event_type'] == 'start_lease')


def test_nova_api_down_at_the_start_is_retried_until_nova_is_back(openstack, climate,
                                                                  enrolled):
    alpha = openstack.members['alpha']
    api = scenario.Reservations(alpha.session(), climate.url)
    admin = openstack.nova()
    start = scenario.in_seconds(15)
    lease = scenario.climate_cli(
        alpha, 'lease', 'create', f'it-nova-down-{uuid.uuid4().hex[:6]}',
        '--start-date', scenario.rfc3339(start),
        '--end-date', scenario.rfc3339(scenario.in_seconds(600, since=start)),
        '--physical-reservation',
        'min=1,max=1,hypervisor_properties=,resource_properties=["=", "$gpu", "yes"]')
    reservation_id = api.lease(lease['id'])['reservations'][0]['id']
    try:
        with openstack.services.stopped('nova-api'):
            def start_failed():
                found = api.lease(lease['id'])
                return found if _start_event(found)['error'] else None

            failed = scenario.wait(start_failed, 'the start to fail while nova-api is down',
                                   timeout=90)
            assert failed['status'] == 'STARTING', failed
            event = _start_event(failed)
            assert event['status'] == 'UNDONE', event      # due again later, not ERROR
            assert 'Nova' in event['error'], event
            # Stays down over more than one retry: the lease neither starts nor fails.
            second = f'Event {event["id"]} failed (attempt 2)'
            scenario.wait(lambda: second in climate.log('climate-manager'),
                          'a second failed attempt', timeout=30)
            assert api.lease(lease['id'])['status'] == 'STARTING'

        active = api.wait_lease(lease['id'], 'ACTIVE', timeout=120)
        assert _start_event(active)['status'] == 'DONE'
        assert scenario.aggregate(admin, reservation_id).hosts == ['cmp1']
        assert 'cmp1' not in scenario.aggregate(admin, scenario.FREEPOOL).hosts
    finally:
        api.request('DELETE', f'/leases/{lease["id"]}')
    scenario.wait(lambda: scenario.aggregate(admin, reservation_id) is None,
                  'the reservation aggregate to be deleted with the lease', timeout=60)
    assert sorted(scenario.aggregate(admin, scenario.FREEPOOL).hosts) == ['cmp1', 'cmp2']


def test_manager_killed_during_a_start_converges(openstack, climate):
    member = openstack.members['alpha']
    session = member.session()
    nova = openstack.nova(member)
    api = scenario.Reservations(session, climate.url)
    name = f'it-kill-{uuid.uuid4().hex[:6]}'
    with scenario.active_server(openstack, member, name) as server:
        start = scenario.in_seconds(20)
        lease = client_servers.reserve_server(
            session, server.id, start, scenario.in_seconds(300, since=start),
            lease_name=name, on_end='delete', api=client_servers.lease_api(session))
        scenario.server_settled(nova, server.id, 'SHELVED_OFFLOADED', timeout=60)

        # The start event is claimed and the unshelve under way: kill the manager.
        scenario.wait(lambda: api.lease(lease['id'])['status'] != 'PENDING',
                      'the lease start to begin', timeout=60, interval=0.1)
        climate.kill_manager()    # (the API answers 503 until a manager is back)
        climate.restart_manager()

        api.wait_lease(lease['id'], 'ACTIVE', timeout=120)
        active = scenario.server_settled(nova, server.id, 'ACTIVE', timeout=90)
        assert active.metadata['climate:status'] == 'ACTIVE'
        assert scenario.trust(openstack, lease['trust_id']) is not None
        api.ok('DELETE', f'/leases/{lease["id"]}')
        scenario.server_gone(nova, server.id, timeout=60)
        assert scenario.trust(openstack, lease['trust_id']) is None   # revoked with it
