"""No request makes the API answer 500: wrong types and odd values in every field of
every body, query parameter and path, on each database backend."""

import http.client
import json

import pytest

ODD_VALUES = [None, True, False, 0, -1, 1.5, 10 ** 30, '', ' ', 'x', 'None', '-5',
              'now', '2030-01-01 10:00', '9999-99-99 99:99', 'x' * 300, '\u00e9\u6f22',
              'nul\u0000', [], {}, ['a'], {'a': 1}, [[[]]]]
LEASE_FIELDS = ['name', 'start_date', 'end_date', 'before_end_date', 'reservations',
                'events']
RESERVATION_FIELDS = ['resource_type', 'id', 'min', 'max', 'hypervisor_properties',
                      'resource_properties', 'before_end', 'vcpus', 'memory_mb',
                      'disk_gb', 'amount', 'affinity', 'flavor_id']
RESOURCE_TYPES = ['physical:host', 'virtual:instance', 'flavor:instance',
                  'dummy:resource']
# Fewer values where the combinations multiply.
SOME_ODD_VALUES = [None, True, 1.5, 10 ** 30, '', 'x', '-5', 'nul\u0000', [], {}]
HEADERS = {'Content-Type': 'application/json', 'X-Roles': 'admin,member,reader',
           'X-Project-Id': 'p1', 'X-User-Id': 'u1'}


class Client:
    def __init__(self, server):
        self.server = server
        self.statuses = []

    def request(self, method, path, body=None, raw=None, headers=None):
        conn = http.client.HTTPConnection(self.server.host, self.server.port,
                                          timeout=30)
        data = raw if raw is not None else (
            None if body is None else json.dumps(body))
        conn.request(method, path, body=data, headers=dict(HEADERS, **(headers or {})))
        resp = conn.getresponse()
        text = resp.read()
        conn.close()
        assert resp.status < 500, \
            f'{method} {path} {data!r:.300} -> {resp.status} {text!r}'
        if resp.status >= 400:
            error = json.loads(text)
            assert set(error) >= {'error_code', 'error_message', 'error_name'}
            assert error['error_code'] == resp.status
        self.statuses.append(resp.status)
        return resp.status, (json.loads(text) if text else None)


def base_lease():
    return {'name': 'fuzz', 'start_date': '2030-01-01 10:00',
            'end_date': '2030-01-02 10:00', 'reservations': []}


# Odd values reach the database as well: SQLite and PostgreSQL (the strictest).
pytestmark = pytest.mark.parametrize('database', ['sqlite', 'postgresql'],
                                     indirect=True)


@pytest.fixture
def client(local_api):
    client = Client(local_api)
    client.request('POST', '/v1/os-hosts', {'name': 'compute-1', 'gpu': 'x'})
    return client


def test_lease_bodies(client):
    status, created = client.request('POST', '/v1/leases', {
        **base_lease(), 'reservations': [{'resource_type': 'dummy:resource'}]})
    assert status == 201
    lease = created['lease']
    path = f'/v1/leases/{lease["id"]}'
    for field in LEASE_FIELDS:
        for value in ODD_VALUES:
            client.request('POST', '/v1/leases', {**base_lease(), field: value})
            client.request('PUT', path, {field: value})
    for resource_type in RESOURCE_TYPES:
        for field in RESERVATION_FIELDS:
            for value in SOME_ODD_VALUES:
                reservation = {'resource_type': resource_type, 'min': 1, 'max': 1,
                               'hypervisor_properties': '', 'resource_properties': '',
                               field: value}
                status, body = client.request(
                    'POST', '/v1/leases', {**base_lease(), 'reservations': [reservation]})
                if status == 201:
                    client.request('DELETE', f'/v1/leases/{body["lease"]["id"]}')
    # An update names its reservation by id: its fields do not depend on a type given
    # in the request, so each field and value is sent once.
    for field in RESERVATION_FIELDS:
        for value in SOME_ODD_VALUES:
            update = {'id': lease['reservations'][0]['id'], field: value}
            client.request('PUT', path, {'reservations': [update]})
    assert 201 in client.statuses and 400 in client.statuses


def test_host_bodies(client):
    for value in ODD_VALUES:
        client.request('POST', '/v1/os-hosts', {'name': value})
        client.request('POST', '/v1/os-hosts', {'id': value})
        client.request('POST', '/v1/os-hosts', {'name': 'compute-2', 'cap': value})
        client.request('DELETE', '/v1/os-hosts/2')
        client.request('PUT', '/v1/os-hosts/1', {'cap': value})
        client.request('PATCH', '/v1/os-hosts/properties/gpu', {'private': value})


def test_raw_bodies(client):
    for raw in ['', 'null', '[]', '"x"', '1', '{', '{"name": NaN}', '{"a": Infinity}',
                '[' * 5000 + ']' * 5000, '{"a":' * 3000 + '1' + '}' * 3000,
                b'\xff\xfe', '{"name": "\\ud800"}']:
        client.request('POST', '/v1/leases', raw=raw)
        client.request('PUT', '/v1/os-hosts/1', raw=raw)
    client.request('POST', '/v1/leases', raw='{}', headers={'Content-Type': 'text/xml'})
    client.request('POST', '/v1/leases', raw='{}',
                   headers={'Content-Type': 'application/json; charset=nonsense'})


def test_paths_and_queries(client):
    odd = ['%00', '%ff', '..', '%2e%2e', 'x' * 2000, '%20', '1.json', '1.xml', '-1',
           '99999999999999999999999']
    for part in odd:
        for path in (f'/v1/leases/{part}', f'/v1/os-hosts/{part}',
                     f'/v1/os-hosts/{part}/allocation',
                     f'/v1/os-hosts/properties/{part}', f'/{part}', f'/v1/{part}'):
            for method in ('GET', 'PUT', 'DELETE', 'PATCH', 'POST'):
                client.request(method, path, {'name': 'x'})
        for query in ('limit', 'marker', 'sort_key', 'sort_dir', 'status', 'name',
                      'project_id', 'lease_id', 'reservation_id', 'detail', 'all'):
            client.request('GET', f'/v1/leases?{query}={part}')
            client.request('GET', f'/v1/os-hosts/allocations?{query}={part}')
            client.request('GET', f'/v1/os-hosts/properties?{query}={part}')
    client.request('GET', '/v1/leases?limit=99999999999999999999')
    client.request('GET', '/v1/leases', headers={'OpenStack-API-Version': '\u00e9'})
    client.request('GET', '/v1/leases', headers={'Content-Length': 'abc'})
