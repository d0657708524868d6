"""The Nova double answers like Nova where Climate's driver depends on it.

These pin the microversion-dependent answers that motivate the driver's fixed
microversion, so the double cannot drift into agreeing with a wrong driver.
"""

import pytest
import requests


def _token(fake):
    body = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {
        'name': fake.username, 'password': fake.password,
        'domain': {'name': 'Default'}}}},
        'scope': {'project': {'name': fake.project_name, 'domain': {'name': 'Default'}}}}}
    response = requests.post(f'{fake.identity_url}/auth/tokens', json=body, timeout=5)
    assert response.status_code == 201
    return response.headers['X-Subject-Token']


def _get(fake, path, version, token=None):
    headers = {'X-Auth-Token': token or _token(fake),
               'OpenStack-API-Version': f'compute {version}'}
    return requests.get(f'{fake.compute_url}{path}', headers=headers, timeout=5)


def test_hypervisor_capacity_disappears_at_2_88(fake_nova):
    hypervisor_id = fake_nova.add_hypervisor('compute-1', vcpus=12)
    assert _get(fake_nova, f'/os-hypervisors/{hypervisor_id}', '2.87').json()[
        'hypervisor']['vcpus'] == 12
    assert 'vcpus' not in _get(fake_nova, f'/os-hypervisors/{hypervisor_id}',
                               '2.88').json()['hypervisor']


def test_hypervisor_ids_are_integers_before_2_53(fake_nova):
    fake_nova.add_hypervisor('compute-1')
    old = _get(fake_nova, '/os-hypervisors/detail', '2.52').json()['hypervisors'][0]
    new = _get(fake_nova, '/os-hypervisors/detail', '2.53').json()['hypervisors'][0]
    assert isinstance(old['id'], int) and isinstance(new['id'], str)
    assert _get(fake_nova, f"/os-hypervisors/{old['id']}", '2.53').status_code == 400


def test_hostname_pattern_without_match_is_404(fake_nova):
    fake_nova.add_hypervisor('compute-1')
    response = _get(fake_nova, '/os-hypervisors/detail?hypervisor_hostname_pattern=zz',
                    '2.87')
    assert response.status_code == 404
    assert 'itemNotFound' in response.json()


def test_requests_need_a_valid_token(fake_nova):
    assert _get(fake_nova, '/os-aggregates', '2.87', token='bogus').status_code == 401
    token = _token(fake_nova)
    fake_nova.revoke_tokens()
    assert _get(fake_nova, '/os-aggregates', '2.87', token=token).status_code == 401


def test_unsupported_microversion_is_406(fake_nova):
    assert _get(fake_nova, '/os-aggregates', '2.200').status_code == 406


@pytest.mark.parametrize('after', [False, True])
def test_injected_failure_before_or_after_the_change(fake_nova, after):
    fake_nova.add_hypervisor('compute-1')
    token = _token(fake_nova)
    fake_nova.inject(status=500, method='POST', path='/action', after=after)
    response = requests.post(
        f'{fake_nova.compute_url}/os-aggregates/1/action',
        json={'add_host': {'host': 'compute-1'}},
        headers={'X-Auth-Token': token, 'OpenStack-API-Version': 'compute 2.87'},
        timeout=5)
    assert response.status_code == 500
    assert response.json()['computeFault']['message'] == 'Injected failure'
    hosts = _get(fake_nova, '/os-aggregates/1', '2.87', token).json()['aggregate'][
        'hosts']
    assert hosts == (['compute-1'] if after else [])
