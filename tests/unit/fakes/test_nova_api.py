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


# --- Keystone trusts -------------------------------------------------------------------

def _trust_token(fake, trust_id, username=None):
    body = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {
        'name': username or fake.username, 'password': fake.password,
        'domain': {'name': 'Default'}}}},
        'scope': {'OS-TRUST:trust': {'id': trust_id}}}}
    return requests.post(f'{fake.identity_url}/auth/tokens', json=body, timeout=5)


def _trusts(fake, method, token, trust_id='', body=None):
    url = f'{fake.identity_url}/OS-TRUST/trusts' + (f'/{trust_id}' if trust_id else '')
    return requests.request(method, url, json=body, headers={'X-Auth-Token': token},
                            timeout=5)


def _spec(fake, **changes):
    spec = {'trustor_user_id': 'user-b', 'trustee_user_id': fake.user_id,
            'project_id': 'project-b', 'impersonation': True,
            'roles': [{'name': 'member'}]}
    spec.update(changes)
    return {'trust': {k: v for k, v in spec.items() if v is not None}}


def test_the_trustor_creates_a_trust(fake_nova):
    token = fake_nova.issue_user_token('user-b', 'project-b', ['member', 'reader'])
    response = _trusts(fake_nova, 'POST', token, body=_spec(fake_nova))
    assert response.status_code == 201
    trust = response.json()['trust']
    assert (trust['trustor_user_id'], trust['trustee_user_id'], trust['project_id'],
            trust['impersonation']) == ('user-b', fake_nova.user_id, 'project-b', True)
    assert [(r['id'], r['name']) for r in trust['roles']] == [('role-member', 'member')]
    assert fake_nova.trusts[trust['id']] == trust
    assert _trusts(fake_nova, 'GET', token, trust['id']).json()['trust'] == trust
    assert _trusts(fake_nova, 'GET', _token(fake_nova), trust['id']).status_code == 200


@pytest.mark.parametrize('changes, status', [
    ({'trustor_user_id': 'user-c'}, 403),          # not the token's user
    ({'roles': []}, 403),                          # a project but no role
    ({'roles': [{'name': 'admin'}]}, 404),         # a role user-b lacks there
    ({'project_id': 'project-c'}, 404),            # no role in that project
    ({'trustee_user_id': 'nobody'}, 404),
    ({'impersonation': None}, 400),                # a required field is missing
    ({'trustee_user_id': None}, 400),
    ({'impersonation': 'yes'}, 400),
])
def test_keystone_refuses_bad_trusts(fake_nova, changes, status):
    token = fake_nova.issue_user_token('user-b', 'project-b', ['member'])
    fake_nova.issue_user_token('user-c', 'project-b', ['member'])
    response = _trusts(fake_nova, 'POST', token, body=_spec(fake_nova, **changes))
    assert response.status_code == status
    assert fake_nova.trusts == {}
    assert _trusts(fake_nova, 'POST', 'bogus', body=_spec(fake_nova)).status_code == 401


def test_a_trust_token_acts_as_the_trustor_until_the_trust_is_deleted(fake_nova):
    fake_nova.add_hypervisor('compute-1')
    server_id = fake_nova.add_server('vm-1', 'compute-1', project_id='project-b')
    user = fake_nova.issue_user_token('user-b', 'project-b', ['member'])
    trust_id = _trusts(fake_nova, 'POST', user, body=_spec(fake_nova)).json()[
        'trust']['id']
    response = _trust_token(fake_nova, trust_id)
    assert response.status_code == 201
    body = response.json()['token']
    assert (body['user']['id'], body['project']['id']) == ('user-b', 'project-b')
    assert [r['name'] for r in body['roles']] == ['member']
    assert body['OS-TRUST:trust']['id'] == trust_id
    assert {s['type'] for s in body['catalog']} == {'compute', 'image', 'identity',
                                                   'placement'}
    token = response.headers['X-Subject-Token']
    assert _get(fake_nova, f'/servers/{server_id}', '2.87', token).status_code == 200
    # Keystone: only the trustor (here through the trust itself) may delete it.
    assert _trusts(fake_nova, 'DELETE', _token(fake_nova), trust_id).status_code == 403
    assert _trusts(fake_nova, 'DELETE', token, trust_id).status_code == 204
    assert _get(fake_nova, f'/servers/{server_id}', '2.87', token).status_code == 401
    assert _trust_token(fake_nova, trust_id).status_code == 401
    assert _trusts(fake_nova, 'GET', user, trust_id).status_code == 404
    assert _trusts(fake_nova, 'DELETE', user, trust_id).status_code == 404


def test_only_the_trustee_gets_a_trust_token(fake_nova):
    user = fake_nova.issue_user_token('user-b', 'project-b', ['member'])
    fake_nova.issue_user_token('user-d', 'project-d', ['member'])
    trust_id = _trusts(fake_nova, 'POST', user,
                       body=_spec(fake_nova, trustee_user_id='user-d')).json()[
        'trust']['id']
    assert _trust_token(fake_nova, trust_id).status_code == 403
    assert _trust_token(fake_nova, 'no-such-trust').status_code == 401
    assert _trust_token(fake_nova, trust_id, username='intruder').status_code == 401


def test_a_user_sees_only_its_project_and_owns_its_snapshots(fake_nova):
    fake_nova.add_hypervisor('compute-1')
    mine = fake_nova.add_server('vm-1', 'compute-1', project_id='project-b')
    theirs = fake_nova.add_server('vm-2', 'compute-1', project_id='project-c')
    user = fake_nova.issue_user_token('user-b', 'project-b', ['member'])
    assert _get(fake_nova, f'/servers/{theirs}', '2.87', user).status_code == 404
    assert _get(fake_nova, '/os-aggregates', '2.87', user).status_code == 403
    assert _get(fake_nova, '/servers/detail?all_tenants=1', '2.87',
                user).status_code == 403
    response = requests.post(
        f'{fake_nova.compute_url}/servers/{mine}/action',
        json={'createImage': {'name': 'snap'}},
        headers={'X-Auth-Token': user, 'OpenStack-API-Version': 'compute 2.87'},
        timeout=5)
    image_id = response.json()['image_id']
    assert fake_nova.image_owner(image_id) == 'project-b'
    image = requests.get(f'{fake_nova.url}/image/v2/images/{image_id}', timeout=5,
                         headers={'X-Auth-Token': user}).json()
    assert image['owner'] == 'project-b'
    other = fake_nova.issue_user_token('user-c', 'project-c', ['member'])
    assert requests.get(f'{fake_nova.url}/image/v2/images/{image_id}', timeout=5,
                        headers={'X-Auth-Token': other}).status_code == 404
