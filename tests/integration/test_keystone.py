"""Scenario 4: Keystone for real. climate-api validates real Keystone tokens with
keystonemiddleware; members of alpha and beta and admins act through it.

A member cannot see or change another project's leases and cannot enroll hosts;
admins can do both. The manager acts on Nova with its own service credentials
(the enrolled hosts' aggregates are changed by the climate user, not the caller);
where a user's authority is needed it uses a Keystone trust (scenario 2,
``test_instance_reservation``: the snapshot made at the end belongs to the user's
project). A host lease needs no trust.
"""

import uuid

import requests

from tests.integration import scenario


def test_requests_without_a_valid_token_are_refused(openstack, climate):
    assert requests.get(f'{climate.url}/leases', timeout=10).status_code == 401
    bogus = requests.get(f'{climate.url}/leases', timeout=10,
                         headers={'X-Auth-Token': uuid.uuid4().hex})
    assert bogus.status_code == 401


def test_projects_are_isolated_and_admins_are_not(openstack, climate, enrolled):
    alpha = scenario.Reservations(openstack.members['alpha'].session(), climate.url)
    beta = scenario.Reservations(openstack.members['beta'].session(), climate.url)
    admin = scenario.Reservations(openstack.operator.session(), climate.url)
    start = scenario.in_seconds(86400)
    lease = alpha.create_lease(
        name=f'it-alpha-{uuid.uuid4().hex[:6]}', start_date=scenario.rfc3339(start),
        end_date=scenario.rfc3339(scenario.in_seconds(3600, since=start)),
        reservations=[{'resource_type': 'physical:host', 'min': 1, 'max': 1,
                       'hypervisor_properties': '', 'resource_properties': ''}])
    assert lease['project_id'] == openstack.project_ids['alpha']
    assert lease['trust_id'] is None
    path = f'/leases/{lease["id"]}'

    # Another project's member: not listed, not readable, not changeable.
    assert lease['id'] not in [x['id'] for x in beta.ok('GET', '/leases')['leases']]
    assert beta.request('GET', path).status_code in (403, 404)
    assert beta.request('PUT', path, json={'name': 'stolen'}).status_code in (403, 404)
    assert beta.request('DELETE', path).status_code in (403, 404)
    listing = beta.request('GET', f'/leases?project_id={openstack.project_ids["alpha"]}')
    assert listing.status_code == 403
    assert alpha.lease(lease['id'])['name'] == lease['name']

    # Members cannot enroll, change or remove hosts.
    for member in (alpha, beta):
        assert member.request('POST', '/os-hosts',
                              json={'name': 'cmp2'}).status_code == 403
        host_path = f'/os-hosts/{enrolled["cmp2"]["id"]}'
        assert member.request('PUT', host_path,
                              json={'gpu': 'maybe'}).status_code == 403
        assert member.request('DELETE', host_path).status_code == 403
    assert admin.ok('GET', f'/os-hosts/{enrolled["cmp2"]["id"]}')['host']['gpu'] == 'no'

    # The owner's own project sees it; admins see and change every project's leases.
    assert lease['id'] in [x['id'] for x in alpha.ok('GET', '/leases')['leases']]
    listed = admin.ok('GET', f'/leases?project_id={openstack.project_ids["alpha"]}')
    assert lease['id'] in [x['id'] for x in listed['leases']]
    assert admin.lease(lease['id'])['project_id'] == openstack.project_ids['alpha']
    renamed = admin.ok('PUT', path, json={'name': 'renamed-by-admin'})['lease']
    assert renamed['name'] == 'renamed-by-admin'
    assert admin.request('DELETE', path).status_code in (200, 204)
    assert alpha.request('GET', path).status_code == 404
