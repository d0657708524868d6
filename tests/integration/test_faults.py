"""Scenario 6 (part): climate-manager killed with SIGKILL during a lease start; after
a restart the lease converges (the dead manager's claim on the start event is
reclaimed once its heartbeat stops, ``[manager] claim_timeout`` = 10 s here)."""

import uuid

from climate.client import servers as client_servers
from tests.integration import scenario


def test_manager_killed_during_a_start_converges(openstack, climate):
    member = openstack.members['alpha']
    session = member.session()
    nova = openstack.nova(member)
    api = scenario.Reservations(session, climate.url)
    name = f'it-kill-{uuid.uuid4().hex[:6]}'
    server = nova.servers.create(name, openstack.image_id, openstack.flavor_id,
                                 nics='none')
    try:
        scenario.server_settled(nova, server.id, 'ACTIVE')
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
        api.ok('DELETE', f'/leases/{lease["id"]}')
        scenario.server_gone(nova, server.id, timeout=60)
    finally:
        try:
            openstack.nova().servers.delete(server.id)
        except Exception:  # already gone
            pass
