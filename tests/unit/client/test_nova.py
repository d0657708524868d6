"""``climate.client.nova``: Nova as the user, over the Nova/Keystone double."""

import subprocess
import sys

from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
import pytest

from climate.client import nova as user_nova


@pytest.fixture
def user_nova_client(fake_nova):
    fake_nova.add_hypervisor('compute-1')
    auth = v3.Password(auth_url=fake_nova.identity_url, username=fake_nova.username,
                       password=fake_nova.password, project_name=fake_nova.project_name,
                       user_domain_name='Default', project_domain_name='Default')
    return user_nova.UserNovaDriver(ks_session.Session(auth=auth), poll_interval=0.02,
                                    wait_timeout=5)


def test_boot_wait_and_delete(fake_nova, user_nova_client):
    server = user_nova_client.create_server('box', 'flavor-1', 'image-1',
                                            networks=[{'uuid': 'net-1'}],
                                            metadata={'k': 'v'})
    assert (server.name, server.project_id) == ('box', fake_nova.project_id)
    active = user_nova_client.wait_for_server(server.id)
    assert (active.status, active.metadata) == ('ACTIVE', {'k': 'v'})
    user_nova_client.delete_server(server.id, wait=True)
    with pytest.raises(user_nova.ServerGone):
        user_nova_client.get_server(server.id)
    user_nova_client.delete_server(server.id)      # already gone: no error


def test_a_server_in_error_is_reported_with_its_fault(user_nova_client):
    server = user_nova_client.create_server('nowhere', 'flavor-1', 'image-1',
                                            availability_zone='no-such-zone')
    with pytest.raises(user_nova.NovaError) as caught:
        user_nova_client.wait_for_server(server.id)
    assert 'went to ERROR instead of ACTIVE' in caught.value.message
    assert 'No valid host' in caught.value.message


def test_nova_errors_are_translated(fake_nova, user_nova_client):
    fake_nova.inject(status=503, method='POST', path='/servers$')
    with pytest.raises(user_nova.NovaError) as caught:
        user_nova_client.create_server('box', 'flavor-1', 'image-1')
    assert (caught.value.status_code, caught.value.retryable) == (503, True)
    assert caught.value.message.startswith('Nova: ')


def test_waiting_times_out(fake_nova, user_nova_client):
    fake_nova.action_delay = 10
    server = user_nova_client.create_server('slow', 'flavor-1', 'image-1')
    with pytest.raises(user_nova.NovaTimeout) as caught:
        user_nova_client.wait_for_server(server.id, timeout=0.1)
    assert caught.value.message.startswith('Timed out after 0.1 s waiting for server')


def test_a_session_without_a_catalog_cannot_find_nova():
    # With --os-auth-type none every service is Climate's endpoint: Nova's requests
    # must not go there (Climate's error body made novaclient fail on an int).
    session = ks_session.Session(auth=noauth.NoAuth(endpoint='http://127.0.0.1:9/v1'))
    with pytest.raises(user_nova.NoNovaEndpoint) as caught:
        user_nova.UserNovaDriver(session).create_server('box', 'f', 'i')
    assert 'no Nova endpoint' in caught.value.message


def test_the_client_imports_nothing_of_the_server():
    code = ('import sys, climate.client.servers, climate.cli.shell\n'
            'import climate.cli.servers\n'
            'print(" ".join(m for m in sys.modules if m.startswith("climate.")))')
    loaded = subprocess.run([sys.executable, '-c', code], check=True,
                            capture_output=True, text=True).stdout.split()
    allowed = ('climate.client', 'climate.cli', 'climate.version')
    assert [m for m in loaded if not m.startswith(allowed)] == []
