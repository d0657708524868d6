"""Scenario: quotas from Keystone unified limits, for real.

Climate's manager reads its limits through oslo.limit from the openstack-lite
Keystone (``[enforcement] quota_driver = unified_limits``). A registered limit for
Climate's service and a project limit of ``alpha`` are created with Keystone's API;
Climate refuses what passes them with a 403, and honours a limit changed in Keystone
at the next request, without a restart.
"""

import uuid

from keystoneclient.v3 import client as keystone_client
import pytest

from tests.integration import scenario

ENFORCEMENT = """
[enforcement]
enabled_filters = QuotaFilter
quota_driver = unified_limits
quota_resources = hosts
[oslo_limit]
auth_type = password
endpoint_service_type = reservation
endpoint_region_name = {region}
endpoint_interface = public
{auth}
"""


@pytest.fixture
def with_unified_limits(openstack, climate, enrolled):
    """The session's Climate with QuotaFilter on unified limits (its manager
    restarted on the changed configuration, and again on the original at the end),
    and a Keystone client of the admin."""
    original = climate.config.read_text()
    creds = openstack.climate
    auth = '\n'.join(f'{k} = {v}' for k, v in creds.as_dict().items())
    climate.config.write_text(original + ENFORCEMENT.format(region=openstack.region,
                                                            auth=auth))
    climate.kill_manager()
    climate.restart_manager()
    keystone = keystone_client.Client(session=openstack.admin_session)
    made = []
    try:
        yield keystone, made
    finally:
        for kind, item in reversed(made):
            getattr(keystone, kind).delete(item)
        climate.config.write_text(original)
        climate.kill_manager()
        climate.restart_manager()


def _lease(api, start, hosts):
    return api.request('POST', '/leases', json={
        'name': f'it-quota-{uuid.uuid4().hex[:6]}', 'start_date': scenario.rfc3339(start),
        'end_date': scenario.rfc3339(scenario.in_seconds(3600, since=start)),
        'events': [],
        'reservations': [{'resource_type': 'physical:host', 'min': hosts, 'max': hosts,
                          'hypervisor_properties': '', 'resource_properties': ''}]})


def test_keystone_limits_are_enforced_and_changes_apply_without_restart(
        openstack, climate, with_unified_limits):
    keystone, made = with_unified_limits
    service = keystone.services.list(type='reservation')[0]
    made.append(('registered_limits', keystone.registered_limits.create(
        service, 'hosts', 1, region=openstack.region)))
    alpha = scenario.Reservations(openstack.members['alpha'].session(), climate.url)
    start = scenario.in_seconds(3 * 86400)

    assert _lease(alpha, start, 1).status_code == 201
    refused = _lease(alpha, start, 1)
    assert refused.status_code == 403, refused.text
    assert refused.json()['rule'] == 'QuotaFilter'
    assert refused.json()['details']['limit'] == 1
    assert refused.json()['details']['usage'] == 1

    # A project limit for alpha, created now, applies to the next request.
    limit = keystone.limits.create(openstack.project_ids['alpha'], service, 'hosts', 2,
                                   region=openstack.region)
    made.append(('limits', limit))
    assert _lease(alpha, start, 1).status_code == 201

    # Lowered again: a lease of two hosts elsewhere in time is refused.
    keystone.limits.update(limit, resource_limit=1)
    later = scenario.in_seconds(6 * 86400)
    lowered = _lease(alpha, later, 2)
    assert lowered.status_code == 403, lowered.text
    assert lowered.json()['details']['limit'] == 1
    usage = alpha.ok('GET', f'/usage?start={scenario.rfc3339(start)}'
                            f'&end={scenario.rfc3339(scenario.in_seconds(60, since=start))}')
    assert usage['usage']['quota_driver'] == 'unified_limits'
    assert usage['usage']['resources']['hosts'] == {'usage': 2, 'limit': 1}
