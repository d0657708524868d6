"""The client-side seed flow (``climate.client.servers``) over HTTP.

climate-api is being written in parallel: until it lands, ``FakeLeaseAPI`` serves
``POST /v1/leases`` in front of the real lease service and the virtual:instance plugin.
Nova and Keystone are the HTTP double (``tests.fakes.nova_api``); the user's requests
go through a real keystoneauth1 session authenticated by that Keystone.
"""

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
import pytest

from climate.client import nova as user_nova
from climate.client import servers
from tests.functional.plugins.conftest import soon
from tests.functional.plugins.conftest import sqlite_only
from tests.functional.plugins.conftest import wait_for
from tests.functional.plugins.fake_lease_api import FakeLeaseAPI

pytestmark = pytest.mark.parametrize('compute_kind', ['nova'], indirect=True)


@pytest.fixture
def user_session(fake_nova):
    auth = v3.Password(auth_url=fake_nova.identity_url, username=fake_nova.username,
                       password=fake_nova.password, project_name=fake_nova.project_name,
                       user_domain_name='Default', project_domain_name='Default')
    return ks_session.Session(auth=auth)


@pytest.fixture
def climate_api(service, fake_nova):
    with FakeLeaseAPI(service, lambda token: token in fake_nova.tokens,
                      fake_nova.project_id) as api:
        yield api


@pytest.fixture
def api(user_session, climate_api):
    # The Keystone double's catalog has no reservation service.
    return servers.lease_api(user_session, endpoint_override=f'{climate_api.url}/v1')


@sqlite_only
def test_reserve_an_existing_server(user_session, api, climate_api, world, fake_nova):
    server_id = world.add_server('mine', project_id=fake_nova.project_id)
    lease = servers.reserve_server(user_session, server_id, soon(3600), soon(7200),
                                   on_end='shelve', before_end='snapshot', api=api)
    assert lease['status'] == 'PENDING'
    assert lease['name'] == f'server-{server_id}'
    reservation = lease['reservations'][0]
    assert (reservation['resource_type'], reservation['resource_id'],
            reservation['on_end'], reservation['before_end']) == \
        ('virtual:instance', server_id, 'shelve', 'snapshot')
    world.wait_status(server_id, 'SHELVED_OFFLOADED')
    method, path, body = climate_api.requests[-1]
    assert (method, path) == ('POST', '/v1/leases')
    assert body['reservations'] == [{'resource_type': 'virtual:instance',
                                     'resource_id': server_id, 'on_end': 'shelve',
                                     'before_end': 'snapshot'}]


@sqlite_only
def test_an_unversioned_endpoint_gets_v1_added(user_session, climate_api, world,
                                               fake_nova):
    server_id = world.add_server(project_id=fake_nova.project_id)
    api = servers.lease_api(user_session, endpoint_override=climate_api.url)
    lease = servers.reserve_server(user_session, server_id, '2099-01-01 10:00',
                                   '2099-01-01 12:00', lease_name='window', api=api)
    assert lease['name'] == 'window'
    assert lease['start_date'] == '2099-01-01T10:00:00.000000'
    assert climate_api.requests[-1][1] == '/v1/leases'


@sqlite_only
def test_the_api_error_message_is_kept(user_session, api, world, fake_nova):
    server_id = world.add_server(project_id=fake_nova.project_id)
    first = servers.reserve_server(user_session, server_id, soon(3600), soon(7200),
                                   api=api)
    with pytest.raises(servers.LeaseRequestFailed) as caught:
        servers.reserve_server(user_session, server_id, soon(3600), soon(7200), api=api)
    assert caught.value.status_code == 409
    assert f'already reserved by lease {first["id"]}' in caught.value.message
    assert str(caught.value).startswith('resource_id: server')
    assert str(caught.value).endswith('(HTTP 409)')


def test_without_a_reservation_endpoint_the_error_says_so(user_session, world,
                                                         fake_nova):
    server_id = world.add_server(project_id=fake_nova.project_id)
    with pytest.raises(servers.LeaseRequestFailed) as caught:
        servers.reserve_server(user_session, server_id, soon(3600), soon(7200))
    assert 'reservation' in str(caught.value)


@sqlite_only
def test_create_and_reserve_boots_then_reserves(user_session, api, world, fake_nova):
    made = servers.create_and_reserve_server(
        user_session, 'build-box', 'flavor-1', 'image-1', soon(3600), soon(7200),
        networks='none', api=api)
    assert (made.server.name, made.server.status, made.server.project_id) == \
        ('build-box', 'ACTIVE', fake_nova.project_id)
    assert fake_nova.servers[made.server.id]['networks'] == 'none'
    assert made.lease['name'] == 'build-box'
    assert made.lease['reservations'][0]['resource_id'] == made.server.id
    # Climate holds it: shelved until the lease starts.
    world.wait_status(made.server.id, 'SHELVED_OFFLOADED')
    assert world.server(made.server.id).metadata['climate:lease_id'] == made.lease['id']


@sqlite_only
def test_a_refused_reservation_deletes_the_new_server(user_session, api, world,
                                                      fake_nova):
    with pytest.raises(servers.LeaseRequestFailed) as caught:
        servers.create_and_reserve_server(
            user_session, 'doomed', 'flavor-1', 'image-1', soon(3600), soon(7200),
            on_end='explode', api=api)
    assert caught.value.status_code == 400
    assert caught.value.message.startswith('on_end must be one of')
    assert_all_deleted(world, fake_nova)


@sqlite_only
def test_a_failed_boot_deletes_the_server_and_reserves_nothing(user_session, api,
                                                               climate_api, world,
                                                               fake_nova):
    compute = user_nova.UserNovaDriver(user_session, poll_interval=0.02,
                                       wait_timeout=5)
    with pytest.raises(servers.ServerBootFailed) as caught:
        servers.create_and_reserve_server(
            user_session, 'nowhere', 'flavor-1', 'image-1', soon(3600), soon(7200),
            availability_zone='no-such-zone', api=api, compute=compute)
    assert 'did not become ACTIVE and was deleted' in str(caught.value)
    assert 'No valid host' in str(caught.value)
    assert_all_deleted(world, fake_nova)
    assert climate_api.requests == []


def assert_all_deleted(world, fake_nova):
    """Every server the double ever had is gone (Nova deletes asynchronously)."""
    created = list(fake_nova.servers)
    assert created
    wait_for(lambda: not any(world.exists(server_id) for server_id in created))
