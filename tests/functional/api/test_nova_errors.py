"""Nova failing while the API serves a request: ``climate-all-in-one`` with both
plugins on the Nova driver, Nova played by the HTTP double (``tests/fakes``) so that
it can answer 503 on demand (the integration tier stops the real nova-api at a lease
start instead).

An unreachable or 5xx Nova is a 503 with ``error_message`` saying so, the request
changed nothing and the same request succeeds once Nova is back. A host lease's
create makes no Nova call (its aggregate is made at the start), so it succeeds.
"""

import datetime

import pytest
import requests

from climate.common import timeutils
from tests.fakes import nova_api
from tests.functional.api import all_in_one

# noauth requests without identity headers act as an admin of this project.
PROJECT = 'noauth-project'


PLUGINS = ('physical.host.plugin', 'virtual.instance.plugin')
HOSTS = {'resource_type': 'physical:host', 'min': 1, 'max': 1,
         'hypervisor_properties': '', 'resource_properties': ''}


@pytest.fixture(scope='module')
def module_nova():
    with nova_api.FakeNova() as nova:
        yield nova


@pytest.fixture(scope='module')
def module_server(tmp_path_factory, module_nova):
    with all_in_one.on_fake_nova(tmp_path_factory.mktemp('all-in-one'), module_nova,
                                 PLUGINS) as process:
        yield process


@pytest.fixture
def fake_nova(module_nova):
    yield module_nova
    module_nova.clear_faults()


@pytest.fixture
def server(module_server, fake_nova):
    """One server for the module; each test starts without leases or hosts."""
    yield module_server
    for lease in requests.get(f'{module_server.url}/leases', timeout=30).json()['leases']:
        requests.delete(f'{module_server.url}/leases/{lease["id"]}',
                        timeout=30).raise_for_status()
    for host in requests.get(f'{module_server.url}/os-hosts', timeout=30).json()['hosts']:
        requests.delete(f'{module_server.url}/os-hosts/{host["id"]}',
                        timeout=30).raise_for_status()


def _later(hours):
    return (timeutils.utcnow() + datetime.timedelta(hours=hours)).strftime(
        '%Y-%m-%d %H:%M')


def _lease(reservation):
    return {'name': 'while-nova-is-down', 'start_date': _later(2), 'end_date': _later(3),
            'reservations': [reservation], 'events': []}


def _down_then_back(server, fake_nova, nova_path, collection, body):
    """POST ``body`` to ``collection`` while Nova answers 503 on ``nova_path``: a 503
    saying Nova is unavailable, and nothing listed; then again once Nova is back: 201.
    Returns the created object."""
    url = f'{server.url}/{collection}'
    key = {'os-hosts': 'hosts'}.get(collection, collection)
    fake_nova.inject(status=503, path=nova_path, times=1000)
    refused = requests.post(url, json=body, timeout=30)
    assert refused.status_code == 503, refused.text
    error = refused.json()
    assert error['error_code'] == 503
    assert error['error_message'].startswith('Nova is unavailable'), error
    assert error['error_name'] == 'SERVICE_UNAVAILABLE'
    assert requests.get(url, timeout=30).json()[key] == []

    fake_nova.clear_faults()
    created = requests.post(url, json=body, timeout=30)
    assert created.status_code == 201, created.text
    return created.json()


def test_enrolling_a_host_while_nova_is_down(server, fake_nova):
    host = _down_then_back(server, fake_nova, '/os-hypervisors', 'os-hosts',
                           {'name': 'compute-1'})
    assert host['host']['hypervisor_hostname'] == 'compute-1'


def test_a_host_lease_while_nova_aggregates_are_down_is_made(server, fake_nova):
    assert requests.post(f'{server.url}/os-hosts', json={'name': 'compute-1'},
                         timeout=30).status_code == 201
    # A host reservation's aggregate is made at its start (retried there), so its
    # create does not need Nova: accepted, and it holds the only host.
    fake_nova.inject(status=503, path='/os-aggregates', times=1000)
    created = requests.post(f'{server.url}/leases', json=_lease(HOSTS), timeout=30)
    assert created.status_code == 201, created.text
    assert created.json()['lease']['status'] == 'PENDING'
    again = requests.post(f'{server.url}/leases', json=_lease(HOSTS), timeout=30)
    assert again.status_code == 409, again.text
    fake_nova.clear_faults()  # deleting the lease (teardown) returns hosts in Nova


def test_a_capacity_lease_without_affinity_needs_no_nova_until_its_start(
        server, fake_nova):
    """Its aggregate and flavor are made at the start: the create asks Nova nothing."""
    assert requests.post(f'{server.url}/os-hosts', json={'name': 'compute-1'},
                         timeout=30).status_code == 201
    capacity = {'resource_type': 'virtual:instance', 'vcpus': 1, 'memory_mb': 512,
                'disk_gb': 1, 'amount': 1, 'affinity': 'None',
                'resource_properties': ''}
    fake_nova.inject(status=503, path='/', times=1000)
    try:
        created = requests.post(f'{server.url}/leases', json=_lease(capacity),
                                timeout=30)
    finally:
        fake_nova.clear_faults()
    assert created.status_code == 201, created.text
    lease = created.json()['lease']
    assert lease['status'] == 'PENDING'
    assert lease['reservations'][0]['aggregate_id'] is None


def test_reserving_a_server_while_nova_is_down(server, fake_nova):
    server_id = fake_nova.add_server('vm1', 'compute-1', project_id=PROJECT)
    instance = {'resource_type': 'virtual:instance', 'resource_id': server_id}
    lease = _down_then_back(server, fake_nova, f'/servers/{server_id}', 'leases',
                            _lease(instance))
    assert lease['lease']['reservations'][0]['resource_id'] == server_id
