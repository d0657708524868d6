"""Nova failing while the API serves a request: ``climate-all-in-one`` with both
plugins on the Nova driver, Nova played by the HTTP double (``tests/fakes``) so that
it can answer 503 on demand (the integration tier stops the real nova-api at a lease
start instead).

An unreachable or 5xx Nova is a 503 with ``error_message`` saying so, the request
changed nothing and the same request succeeds once Nova is back.
"""

import datetime

import pytest
import requests

from climate.common import timeutils
from tests.functional.api import all_in_one

# noauth requests without identity headers act as an admin of this project.
PROJECT = 'noauth-project'


@pytest.fixture
def nova(fake_nova):
    fake_nova.add_hypervisor('compute-1')
    return fake_nova


@pytest.fixture
def server(tmp_path, nova):
    process = all_in_one.AllInOne(
        tmp_path, plugins=('physical.host.plugin', 'virtual.instance.plugin'),
        compute_config='[compute]\ndriver = nova\n' + nova.config_text()).start()
    yield process
    process.stop()


def _later(hours):
    return (timeutils.utcnow() + datetime.timedelta(hours=hours)).strftime(
        '%Y-%m-%d %H:%M')


def _lease(reservation):
    return {'name': 'while-nova-is-down', 'start_date': _later(2), 'end_date': _later(3),
            'reservations': [reservation], 'events': []}


HOSTS = {'resource_type': 'physical:host', 'min': 1, 'max': 1,
         'hypervisor_properties': '', 'resource_properties': ''}


def _assert_unavailable(response):
    assert response.status_code == 503, response.text
    error = response.json()
    assert error['error_code'] == 503
    assert error['error_message'].startswith('Nova is unavailable'), error
    assert error['error_name'] == 'SERVICE_UNAVAILABLE'


def test_enrolling_a_host_while_nova_is_down_is_503_then_works(server, nova):
    nova.inject(status=503, path='/os-hypervisors', times=1000)
    _assert_unavailable(requests.post(f'{server.url}/os-hosts', json={'name': 'compute-1'},
                                      timeout=30))
    assert requests.get(f'{server.url}/os-hosts', timeout=30).json()['hosts'] == []

    nova.clear_faults()
    created = requests.post(f'{server.url}/os-hosts', json={'name': 'compute-1'},
                            timeout=30)
    assert created.status_code == 201, created.text


def test_a_host_lease_while_nova_is_down_is_503_and_leaves_nothing(server, nova):
    assert requests.post(f'{server.url}/os-hosts', json={'name': 'compute-1'},
                         timeout=30).status_code == 201
    nova.inject(status=503, path='/os-aggregates', times=1000)
    _assert_unavailable(requests.post(f'{server.url}/leases', json=_lease(HOSTS),
                                      timeout=30))
    assert requests.get(f'{server.url}/leases', timeout=30).json()['leases'] == []

    nova.clear_faults()
    # The host was not left claimed by the failed lease.
    created = requests.post(f'{server.url}/leases', json=_lease(HOSTS), timeout=30)
    assert created.status_code == 201, created.text


def test_reserving_a_server_while_nova_is_down_is_503(server, nova):
    server_id = nova.add_server('vm1', 'compute-1', project_id=PROJECT)
    instance = {'resource_type': 'virtual:instance', 'resource_id': server_id}
    nova.inject(status=503, path=f'/servers/{server_id}', times=1000)
    _assert_unavailable(requests.post(f'{server.url}/leases', json=_lease(instance),
                                      timeout=30))
    assert requests.get(f'{server.url}/leases', timeout=30).json()['leases'] == []

    nova.clear_faults()
    created = requests.post(f'{server.url}/leases', json=_lease(instance), timeout=30)
    assert created.status_code == 201, created.text
    assert created.json()['lease']['reservations'][0]['resource_id'] == server_id
