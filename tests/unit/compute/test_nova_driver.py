"""The Nova driver over HTTP: authentication, microversion, errors, pagination.

Nova here is ``tests.fakes.nova_api.FakeNova``, which stands in for Nova only until the
integration tier (real Nova via openstack-lite) lands.
"""

import time

from novaclient import exceptions as nova_exc
import pytest
import requests

from climate import context
from climate.compute import exceptions
from climate.compute import nova


def test_one_token_serves_many_calls(fake_nova, nova_driver):
    fake_nova.add_hypervisor('compute-1')
    for _ in range(3):
        nova_driver.get_hypervisor('compute-1')
        nova_driver.find_aggregate('freepool')
    assert fake_nova.token_requests == 1


def test_a_revoked_token_is_replaced_transparently(fake_nova, nova_driver):
    fake_nova.add_hypervisor('compute-1')
    nova_driver.get_hypervisor('compute-1')
    fake_nova.revoke_tokens()
    assert nova_driver.get_hypervisor('compute-1').hypervisor_hostname == 'compute-1'
    assert fake_nova.token_requests == 2


def test_every_compute_call_uses_microversion_2_87(fake_nova, nova_driver):
    fake_nova.add_hypervisor('compute-1')
    server_id = fake_nova.add_server('vm-1', 'compute-1')
    nova_driver.get_hypervisor('compute-1')
    nova_driver.shelve_server(server_id)
    nova_driver.ensure_aggregate('r1')
    compute_requests = [r for r in fake_nova.requests if r[1].startswith('/compute/')]
    assert compute_requests
    assert {r[3] for r in compute_requests} == {'2.87'}


@pytest.mark.parametrize('status, retryable', [
    (500, True), (502, True), (503, True), (504, True), (429, True),
    (501, False), (400, False), (403, False), (409, False)])
def test_http_errors_map_to_retryable_or_not(fake_nova, nova_driver, status, retryable):
    fake_nova.inject(status=status, method='GET', path='/os-aggregates',
                     message='Nova says no')
    with pytest.raises(exceptions.ComputeError) as caught:
        nova_driver.find_aggregate('freepool')
    assert caught.value.retryable is retryable
    assert caught.value.status_code == status
    assert 'Nova says no' in caught.value.message


@pytest.mark.parametrize('authenticated_before', [False, True])
def test_an_unreachable_nova_is_a_retryable_error(nova_conf, fake_nova,
                                                  authenticated_before):
    driver = nova.NovaDriver(nova_conf)
    if authenticated_before:
        driver.find_aggregate('freepool')
    fake_nova.stop()
    with pytest.raises(exceptions.ComputeError) as caught:
        driver.find_aggregate('freepool')
    assert caught.value.retryable is True


def test_a_slow_nova_is_a_retryable_timeout(conf, fake_nova):
    fake_nova.configure(conf, timeout=0.3)
    driver = nova.NovaDriver(conf)
    driver.find_aggregate('freepool')
    fake_nova.inject(status=None, delay=1.5, method='GET', path='/os-aggregates')
    started = time.monotonic()
    with pytest.raises(exceptions.ComputeTimeout) as caught:
        driver.find_aggregate('freepool')
    assert caught.value.retryable is True
    assert time.monotonic() - started < 1.4


def test_a_slow_answer_within_the_timeout_is_fine(fake_nova, nova_driver):
    fake_nova.inject(status=None, delay=0.3, method='GET', path='/os-aggregates')
    assert nova_driver.find_aggregate('freepool').name == 'freepool'


def test_keystone_unavailable_is_retryable(fake_nova, nova_driver):
    fake_nova.inject(status=503, method='POST', path='/auth/tokens')
    with pytest.raises(exceptions.ComputeError) as caught:
        nova_driver.find_aggregate('freepool')
    assert caught.value.retryable is True
    assert nova_driver.find_aggregate('freepool') is not None


def test_wrong_credentials_are_not_retryable(conf, fake_nova):
    fake_nova.configure(conf)
    conf.set_override('password', 'wrong', 'nova')
    driver = nova.NovaDriver(conf)
    with pytest.raises(exceptions.ComputeError) as caught:
        driver.find_aggregate('freepool')
    assert caught.value.retryable is False
    assert caught.value.status_code == 401


def test_a_region_without_nova_is_a_clear_configuration_error(conf, fake_nova):
    fake_nova.configure(conf)
    conf.set_override('region_name', 'RegionTwo', 'nova')
    driver = nova.NovaDriver(conf)
    with pytest.raises(exceptions.ComputeError) as caught:
        driver.find_aggregate('freepool')
    assert caught.value.retryable is False
    assert 'compute' in caught.value.message


def test_endpoint_override_is_honoured(conf, fake_nova):
    fake_nova.configure(conf)
    conf.set_override('region_name', 'RegionTwo', 'nova')
    conf.set_override('endpoint_override', fake_nova.compute_url, 'nova')
    assert nova.NovaDriver(conf).find_aggregate('freepool').name == 'freepool'


def test_missing_credentials_fail_at_start(conf):
    with pytest.raises(exceptions.ComputeError, match='auth_type'):
        nova.NovaDriver(conf)


def test_a_config_file_section_is_enough(tmp_path, conf, fake_nova):
    config = tmp_path / 'climate.conf'
    config.write_text(fake_nova.config_text())
    conf([f'--config-file={config}'], project='climate', default_config_files=[])
    fake_nova.add_hypervisor('compute-1')
    assert nova.NovaDriver(conf).get_hypervisor('compute-1').vcpus == 8


def test_servers_and_hypervisors_are_listed_across_pages(fake_nova, nova_driver):
    fake_nova.max_limit = 2
    for index in range(5):
        fake_nova.add_hypervisor(f'compute-{index}')
    created = {fake_nova.add_server(f'vm-{i}', 'compute-0', project_id=f'p{i}')
               for i in range(5)}
    assert {s.id for s in nova_driver.list_servers_on_host('compute-0')} == created
    assert len(nova_driver.list_hypervisors()) == 5


def test_hypervisor_and_service_host_names_may_differ(fake_nova, nova_driver):
    fake_nova.add_hypervisor('node-1.example.org', service_host='node-1')
    hypervisor = nova_driver.get_hypervisor('node-1.example.org')
    assert hypervisor.service_host == 'node-1'
    server_id = fake_nova.add_server('vm-1', 'node-1')
    assert [s.id for s in nova_driver.list_servers_on_host('node-1')] == [server_id]
    assert nova_driver.add_host('freepool', 'node-1').hosts == ('node-1',)


def _stale_once(monkeypatch, driver, stale):
    """The driver's next aggregate lookup sees ``stale``, as if it raced someone."""
    real = driver.find_aggregate
    answers = iter([stale])
    monkeypatch.setattr(driver, 'find_aggregate',
                        lambda name: next(answers, None) or real(name))


def _actions(fake_nova):
    return len(fake_nova.requests_to('POST', r'/os-aggregates/\d+/action$'))


def _reads(fake_nova):
    return len(fake_nova.requests_to('GET', r'/os-aggregates/\d+$'))


def test_add_host_tolerates_a_host_added_meanwhile(fake_nova, nova_conf, nova_driver):
    fake_nova.add_hypervisor('compute-1')
    nova_driver.find_aggregate('freepool')
    nova.NovaDriver(nova_conf).add_host('freepool', 'compute-1')  # another manager
    actions = _actions(fake_nova)
    # By the id it knows: Nova's 409, then a read that shows the host there.
    assert nova_driver.add_host('freepool', 'compute-1').hosts == ('compute-1',)
    assert _actions(fake_nova) == actions + 1


def test_add_host_tolerates_a_host_added_after_its_read(fake_nova, nova_driver,
                                                       monkeypatch):
    # No id known: the aggregate is read first, and the read is stale.
    fake_nova.add_hypervisor('compute-1')
    stale = nova_driver.find_aggregate('freepool')
    nova_driver.add_host('freepool', 'compute-1')  # another manager did it
    nova_driver._aggregate_ids.clear()
    _stale_once(monkeypatch, nova_driver, stale)
    actions = _actions(fake_nova)
    assert nova_driver.add_host('freepool', 'compute-1').hosts == ('compute-1',)
    assert _actions(fake_nova) == actions + 1


def test_remove_host_tolerates_a_host_removed_meanwhile(fake_nova, nova_conf,
                                                       nova_driver):
    fake_nova.add_hypervisor('compute-1')
    nova_driver.add_host('freepool', 'compute-1')
    nova.NovaDriver(nova_conf).remove_host('freepool', 'compute-1')  # another manager
    assert nova_driver.remove_host('freepool', 'compute-1').hosts == ()


def test_remove_host_tolerates_a_host_removed_after_its_read(fake_nova, nova_driver,
                                                            monkeypatch):
    fake_nova.add_hypervisor('compute-1')
    stale = nova_driver.add_host('freepool', 'compute-1')
    nova_driver.remove_host('freepool', 'compute-1')  # another manager did it
    nova_driver._aggregate_ids.clear()
    _stale_once(monkeypatch, nova_driver, stale)
    assert nova_driver.remove_host('freepool', 'compute-1').hosts == ()


def test_a_start_moves_its_host_by_aggregate_id_without_reading_them(fake_nova,
                                                                    nova_driver):
    # The freepool's answer lists every free host: reading it before each move
    # doubled what a start fetched from Nova.
    fake_nova.add_hypervisor('compute-1')
    nova_driver.add_host('freepool', 'compute-1')
    nova_driver.ensure_aggregate('r1', metadata={'climate:owner': 'p1'})
    reads, listings = _reads(fake_nova), _listings(fake_nova)
    assert nova_driver.add_host('r1', 'compute-1').hosts == ('compute-1',)
    assert nova_driver.remove_host('freepool', 'compute-1').hosts == ()
    assert (_reads(fake_nova), _listings(fake_nova)) == (reads, listings)
    assert nova_driver.find_aggregate('r1').hosts == ('compute-1',)
    assert nova_driver.find_aggregate('freepool').hosts == ()


def _renamed_behind_our_back(fake_nova, aggregate, new_name):
    """Another client renamed ``aggregate`` and made a new one of its old name."""
    with fake_nova.lock:
        fake_nova.aggregates[aggregate.id]['name'] = new_name
    return fake_nova._create_aggregate(aggregate.name, None)


def test_a_host_goes_to_the_aggregate_of_that_name_when_its_id_was_renamed(
        fake_nova, nova_driver):
    fake_nova.add_hypervisor('compute-1')
    first = nova_driver.ensure_aggregate('r1')
    second = _renamed_behind_our_back(fake_nova, first, 'other')
    added = nova_driver.add_host('r1', 'compute-1')
    assert (added.id, added.hosts) == (second['id'], ('compute-1',))
    assert nova_driver.find_aggregate('other').hosts == ()


def test_a_host_leaves_the_aggregate_of_that_name_when_its_id_was_renamed(
        fake_nova, nova_conf, nova_driver):
    fake_nova.add_hypervisor('compute-1')
    first = nova_driver.ensure_aggregate('r1')
    nova_driver.add_host('r1', 'compute-1')
    second = _renamed_behind_our_back(fake_nova, first, 'other')
    nova.NovaDriver(nova_conf).add_host('r1', 'compute-1')   # in the new 'r1' too
    removed = nova_driver.remove_host('r1', 'compute-1')
    assert (removed.id, removed.hosts) == (second['id'], ())
    assert nova_driver.find_aggregate('other').hosts == ('compute-1',)


def test_a_failed_undo_on_a_renamed_id_is_retried_by_the_name(fake_nova, nova_driver,
                                                             monkeypatch):
    fake_nova.add_hypervisor('compute-1')
    first = nova_driver.ensure_aggregate('r1')
    second = _renamed_behind_our_back(fake_nova, first, 'other')

    def unavailable(*args):
        raise nova_exc.ClientException(503, 'Nova is down')
    monkeypatch.setattr(nova_driver._nova.aggregates, 'remove_host', unavailable)
    with pytest.raises(exceptions.ComputeError) as raised:
        nova_driver.add_host('r1', 'compute-1')
    assert raised.value.retryable
    monkeypatch.undo()
    # The retry does not go by the renamed id again.
    renamed = rf'/os-aggregates/{first.id}/action$'
    touched = len(fake_nova.requests_to('POST', renamed))
    assert nova_driver.add_host('r1', 'compute-1').id == second['id']
    assert len(fake_nova.requests_to('POST', renamed)) == touched


def test_a_host_goes_to_an_aggregate_made_again_under_its_name(fake_nova, nova_driver):
    fake_nova.add_hypervisor('compute-1')
    first = nova_driver.ensure_aggregate('r1')
    with fake_nova.lock:                    # another manager deleted and re-made it
        del fake_nova.aggregates[first.id]
    second = fake_nova._create_aggregate('r1', None)
    assert nova_driver.add_host('r1', 'compute-1').id == second['id']
    assert nova_driver.remove_host('r1', 'compute-1').hosts == ()


def test_adding_an_unknown_host_by_id_is_still_a_clear_error(fake_nova, nova_driver):
    nova_driver.ensure_aggregate('r1')
    with pytest.raises(exceptions.ComputeHostNotFound):
        nova_driver.add_host('r1', 'no-such-host')
    assert nova_driver.find_aggregate('r1').hosts == ()


def test_delete_aggregate_empties_it_again_if_a_host_arrived(fake_nova, nova_driver,
                                                            monkeypatch):
    fake_nova.add_hypervisor('compute-1')
    nova_driver.ensure_aggregate('r1')
    stale = nova_driver.find_aggregate('r1')  # empty
    nova_driver.add_host('r1', 'compute-1')   # arrives before Nova deletes it
    _stale_once(monkeypatch, nova_driver, stale)
    nova_driver.delete_aggregate('r1')
    assert nova_driver.find_aggregate('r1') is None


def test_create_server_sends_networks_and_scheduler_hints(fake_nova, nova_driver):
    fake_nova.add_hypervisor('compute-1')
    server = nova_driver.create_server(
        'vm-1', 'flavor-1', 'image-1', networks=[{'uuid': 'net-1'}],
        scheduler_hints={'reservation': 'r1'})
    record = fake_nova.servers[server.id]
    assert record['scheduler_hints'] == {'reservation': 'r1'}
    assert record['networks'] == [{'uuid': 'net-1'}]
    default = nova_driver.create_server('vm-2', 'flavor-1', 'image-1')
    assert fake_nova.servers[default.id]['networks'] == 'none'



# --- trusts ----------------------------------------------------------------------------

def _user(fake_nova, user_id='user-b', project_id='project-b', roles=('member',),
          token_user=None):
    """A user's request context whose token is ``token_user``'s (the user's own by
    default)."""
    token = fake_nova.issue_user_token(token_user or user_id, project_id, roles)
    return context.RequestContext(auth_token=token, user_id=user_id,
                                  project_id=project_id, roles=list(roles))


def test_create_trust_delegates_the_users_roles_to_the_service_account(fake_nova,
                                                                       nova_driver):
    trust_id = nova_driver.create_trust(_user(fake_nova, roles=('member', 'reader')))
    trust = fake_nova.trusts[trust_id]
    assert (trust['trustor_user_id'], trust['trustee_user_id'], trust['project_id'],
            trust['impersonation']) == ('user-b', fake_nova.user_id, 'project-b', True)
    assert sorted(r['name'] for r in trust['roles']) == ['member', 'reader']


def test_only_the_user_can_delegate(fake_nova, nova_driver):
    fake_nova.issue_user_token('user-b', 'project-b', ['member'])  # user-b may delegate
    someone_else = _user(fake_nova, user_id='user-b', token_user='user-c')
    with pytest.raises(exceptions.ComputeError) as caught:
        nova_driver.create_trust(someone_else)
    assert caught.value.status_code == 403
    assert caught.value.retryable is False
    assert fake_nova.trusts == {}


def test_create_trust_with_an_expired_user_token_is_refused(fake_nova, nova_driver):
    user = _user(fake_nova)
    fake_nova.revoke_tokens()
    with pytest.raises(exceptions.ComputeError) as caught:
        nova_driver.create_trust(user)
    assert (caught.value.status_code, caught.value.retryable) == (401, False)


def test_keystone_unavailable_while_creating_a_trust_is_retryable(fake_nova,
                                                                  nova_driver):
    user = _user(fake_nova)
    fake_nova.inject(status=503, method='POST', path='/OS-TRUST/trusts')
    with pytest.raises(exceptions.ComputeError) as caught:
        nova_driver.create_trust(user)
    assert caught.value.retryable is True
    assert nova_driver.create_trust(user) in fake_nova.trusts


def test_acting_for_a_trust_authenticates_once(fake_nova, nova_driver):
    fake_nova.add_hypervisor('compute-1')
    server_id = fake_nova.add_server('vm-1', 'compute-1', project_id='project-b')
    trust_id = nova_driver.create_trust(_user(fake_nova))
    before = fake_nova.token_requests
    for _ in range(3):
        assert nova_driver.acting_for(trust_id).get_server(server_id).id == server_id
    assert fake_nova.token_requests == before + 1


def test_the_trust_acts_with_the_users_rights_only(fake_nova, nova_driver):
    fake_nova.add_hypervisor('compute-1')
    theirs = fake_nova.add_server('vm-1', 'compute-1', project_id='project-c')
    trusted = nova_driver.acting_for(nova_driver.create_trust(_user(fake_nova)))
    with pytest.raises(exceptions.ServerNotFound):
        trusted.get_server(theirs)
    with pytest.raises(exceptions.ComputeError) as caught:
        trusted.find_aggregate('freepool')
    assert caught.value.status_code == 403


def test_a_trust_is_deleted_as_its_trustor(fake_nova, nova_driver):
    # Keystone lets the trustor delete a trust, not the trustee (the service account).
    trust_id = nova_driver.create_trust(_user(fake_nova))
    nova_driver.delete_trust(trust_id)
    assert fake_nova.trusts == {}


def test_delete_trust_fails_when_keystone_refuses(fake_nova, nova_driver):
    # A trust for another trustee: this account cannot use it nor delete it.
    fake_nova.issue_user_token('user-d', 'project-b')
    user = _user(fake_nova)
    response = requests.post(
        f'{fake_nova.identity_url}/OS-TRUST/trusts', timeout=5,
        headers={'X-Auth-Token': user.auth_token},
        json={'trust': {'trustor_user_id': 'user-b', 'trustee_user_id': 'user-d',
                        'project_id': 'project-b', 'impersonation': True,
                        'roles': [{'name': 'member'}]}})
    trust_id = response.json()['trust']['id']
    with pytest.raises(exceptions.ComputeError) as caught:
        nova_driver.delete_trust(trust_id)
    assert caught.value.status_code == 403
    assert trust_id in fake_nova.trusts


def test_no_trust_when_the_service_account_could_not_use_one(fake_nova, conf):
    # An application credential cannot be scoped to a trust: no trust is made (the
    # lease is served with the account itself) rather than one nobody can use.
    from keystoneauth1 import loading as ks_loading

    from climate.compute import nova
    conf.register_opts(ks_loading.get_auth_plugin_conf_options('v3applicationcredential'),
                       group='nova')
    for name, value in {'auth_type': 'v3applicationcredential',
                        'auth_url': fake_nova.identity_url,
                        'application_credential_id': 'app-cred',
                        'application_credential_secret': 'secret'}.items():
        conf.set_override(name, value, 'nova')
    driver = nova.NovaDriver(conf)
    assert driver.create_trust(_user(fake_nova)) is None
    assert fake_nova.trusts == {}
    with pytest.raises(exceptions.ComputeError) as caught:
        driver.acting_for('some-trust')
    assert caught.value.status_code == 401


def _listings(fake_nova):
    return len(fake_nova.requests_to('GET', r'/os-aggregates$'))


def test_a_known_aggregate_is_read_by_id_not_found_in_a_listing(fake_nova, nova_driver):
    # With one aggregate per active host reservation, listing them all for every step
    # of every lease event grows with the number of leases.
    fake_nova.add_hypervisor('compute-1')
    nova_driver.ensure_aggregate('r1', metadata={'climate:owner': 'p1'})
    listed = _listings(fake_nova)
    nova_driver.add_host('r1', 'compute-1')
    nova_driver.set_aggregate_metadata('r1', {'k': 'v'})
    nova_driver.remove_host('r1', 'compute-1')
    assert nova_driver.find_aggregate('r1').metadata == {'climate:owner': 'p1', 'k': 'v'}
    assert _listings(fake_nova) == listed
    nova_driver.delete_aggregate('r1')
    assert nova_driver.find_aggregate('r1') is None


def test_an_aggregate_replaced_behind_our_back_is_found_again(fake_nova, nova_driver):
    first = nova_driver.ensure_aggregate('r1')
    with fake_nova.lock:                    # another manager deleted and re-made it
        del fake_nova.aggregates[first.id]
    second = fake_nova._create_aggregate('r1', None)
    assert nova_driver.find_aggregate('r1').id == second['id']
    with fake_nova.lock:                    # the id now known holds another name
        second['name'] = 'other'
    third = fake_nova._create_aggregate('r1', None)
    assert nova_driver.find_aggregate('r1').id == third['id']
    assert nova_driver.find_aggregate('other').id == second['id']
