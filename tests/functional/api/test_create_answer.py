"""A create's answer is the lease as a later show reads it, byte for byte, for each
kind of reservation, on every database backend (the manager builds a host lease's
answer from what its create wrote instead of reading it back)."""

import json
import urllib.request

import pytest

from tests.functional.api import conftest as api
from tests.functional.api import test_stories

HEADERS = {'content-type': 'application/json', 'x-user-id': 'alice',
           'x-project-id': 'project-a', 'x-roles': 'member,reader'}
ADMIN = dict(HEADERS, **{'x-roles': 'admin', 'x-project-id': 'admin-project'})

HOST = {'resource_type': 'physical:host', 'min': 1, 'max': 2,
        'hypervisor_properties': '', 'resource_properties': '["==", "$vcpus", "8"]',
        'before_end': 'snapshot', 'on_host_failure': 'keep'}
CAPACITY = {'resource_type': 'virtual:instance', 'vcpus': 1, 'memory_mb': 512,
            'disk_gb': 10, 'amount': 2, 'affinity': 'None', 'resource_properties': ''}
ONE_HOST = dict(HOST, min=1, max=1, resource_properties='')
FLAVOR = {'resource_type': 'flavor:instance', 'flavor_id': 'm1.test', 'amount': 1,
          'affinity': None}
# An existing server of the caller's (its id is filled in by the test).
SERVER = {'resource_type': 'virtual:instance', 'resource_id': None}


@pytest.fixture
def capacity_api(migrated_database):
    yield from test_stories.capacity_server(api.make_conf())


def _call(server, method, path, body=None, headers=HEADERS):
    request = urllib.request.Request(
        server.url + path, method=method, headers=headers,
        data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request) as response:
        return response.status, response.read()


@pytest.mark.parametrize('reservations', [
    [HOST], [ONE_HOST], [CAPACITY], [FLAVOR], [ONE_HOST, CAPACITY],
    [CAPACITY, ONE_HOST], [SERVER], [SERVER, ONE_HOST],
], ids=['host', 'host-defaults', 'capacity', 'flavor', 'host-and-capacity',
        'capacity-and-host', 'server', 'server-and-host'])
@pytest.mark.parametrize('before_end_date', [None, '2030-01-01 23:00'],
                         ids=['default-before-end', 'before-end-date'])
def test_create_answers_what_show_reads(capacity_api, reservations, before_end_date):
    for name in ('compute-1', 'compute-2'):
        assert _call(capacity_api, 'POST', '/v1/os-hosts', {'name': name},
                     ADMIN)[0] == 201
    server_id = capacity_api.compute.add_server('vm-1', 'compute-3')
    reservations = [dict(r, resource_id=server_id) if r is SERVER else r
                    for r in reservations]
    body = {'name': 'answer', 'start_date': '2030-01-01 10:00',
            'end_date': '2030-01-02 10:00', 'reservations': reservations}
    if before_end_date:
        body['before_end_date'] = before_end_date
    status, created = _call(capacity_api, 'POST', '/v1/leases', body)
    assert status == 201
    lease_id = json.loads(created)['lease']['id']
    status, shown = _call(capacity_api, 'GET', f'/v1/leases/{lease_id}')
    assert status == 200
    assert created == shown
