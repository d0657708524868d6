"""schemathesis against a real ``climate-all-in-one`` process: every operation of the
OpenAPI description (``climate/api/openapi.yaml``), with requests generated from it,
as an admin and as a project member (noauth identity headers).

The process runs the real ``physical:host``, ``virtual:instance`` and
``flavor:instance`` plugins on the in-memory compute driver, a fresh MariaDB database
and one usage-policy rule (leases of at most a week). No answer may be a 5xx, and
every answer must conform to the description (status code described, content type,
body schema, headers).
Generation is bounded (:data:`EXAMPLES` per operation and identity, derandomized so
that a run is repeatable) to keep the module well under a minute.

Generated host ids name no enrolled host, and generated searches, questions and
capacity requests rarely succeed, so the success answers of those routes are checked
by scripted stories too (:func:`test_the_host_failure_answers_are_as_described`,
:func:`test_the_availability_usage_and_capacity_answers_are_as_described`).
"""

import hypothesis
from hypothesis import HealthCheck
from hypothesis import Phase
import pytest
import requests
import schemathesis
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from climate.api import openapi
from tests import backends
from tests.functional.api import all_in_one

EXAMPLES = 12
POLICY = ('[enforcement]\nenabled_filters = MaxLeaseDurationFilter\n'
          f'max_lease_duration = {7 * 24 * 3600}\nquota_limits = hosts:50\n')
IDENTITIES = {
    'admin': {'X-User-Id': 'root', 'X-Project-Id': 'admin-project',
              'X-Roles': 'admin,member,reader'},
    'member': {'X-User-Id': 'alice', 'X-Project-Id': 'project-a',
               'X-Roles': 'member,reader'},
}
CHECKS = [checks.not_a_server_error, openapi_checks.status_code_conformance,
          openapi_checks.content_type_conformance,
          openapi_checks.response_schema_conformance,
          openapi_checks.response_headers_conformance]

SCHEMA = schemathesis.openapi.from_path(openapi.DOCUMENT)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    backends.check('mysql', pytest.skip, pytest.fail)
    tmp = tmp_path_factory.mktemp('schemathesis')
    database = backends.ProvisionedDatabase('mysql', str(tmp))
    process = all_in_one.AllInOne(
        tmp, plugins=('dummy.plugin', all_in_one.HOST_PLUGIN, 'virtual.instance.plugin',
                      'flavor.instance.plugin'),
        extra_config=POLICY)
    process.config.write_text(process.config.read_text().replace(
        f'sqlite:///{tmp}/climate.sqlite', database.url))
    try:
        process.start()
        yield process.url.rsplit('/v1', 1)[0]
    finally:
        process.stop()
        database.drop()


@pytest.mark.parametrize('identity', sorted(IDENTITIES))
@pytest.mark.parametrize('operation', OPERATIONS, ids=lambda op: op.label)
def test_no_server_error_and_every_answer_as_described(server, operation, identity):
    headers = IDENTITIES[identity]

    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                         database=None, phases=[Phase.explicit, Phase.generate],
                         suppress_health_check=list(HealthCheck))
    @hypothesis.given(case=operation.as_strategy())
    def run(case):
        case.call_and_validate(base_url=server, headers=headers, checks=CHECKS,
                               timeout=30)

    run()


def _answer(server, method, path, status, body=None):
    """The answer to an admin's request, with the expected ``status``, described
    for its operation and conforming to the description."""
    template = SCHEMA.find_operation_by_path(method, path.split('?')[0])
    resp = requests.request(method, server + path, json=body, timeout=30,
                            headers=IDENTITIES['admin'])
    assert resp.status_code == status, (method, path, resp.text)
    assert str(status) in template.definition.raw['responses'], (method, path, status)
    template.validate_response(resp)
    return resp.json() if resp.content else None


def test_the_host_failure_answers_are_as_described(server):
    # Three hosts; "pinned" holds one, "mobile" another, the third is ruled out.
    hosts = {}
    for name in ('compute-1', 'compute-2', 'compute-3'):
        hosts[name] = _answer(server, 'POST', '/v1/os-hosts', 201,
                              {'name': name})['host']['id']
    assert _answer(server, 'GET', f'/v1/os-hosts/{hosts["compute-1"]}',
                   200)['host']['status'] == 'up'

    def lease(name, hypervisor_properties):
        return _answer(server, 'POST', '/v1/leases', 201, {
            'name': name, 'start_date': '2030-01-01 10:00',
            'end_date': '2030-01-01 12:00',
            'reservations': [{'resource_type': 'physical:host', 'min': 1, 'max': 1,
                              'hypervisor_properties': hypervisor_properties,
                              'resource_properties': ''}]})['lease']

    pinned = lease('pinned', '["==", "$hypervisor_hostname", "compute-1"]')
    mobile = lease('mobile', '["!=", "$hypervisor_hostname", "compute-3"]')
    held = hosts['compute-2']
    allocation = f'/v1/os-hosts/{held}/allocation'
    assert _answer(server, 'GET', allocation, 200)['allocation']['maintenances'] == []
    _answer(server, 'PUT', allocation, 409, {'lease_id': mobile['id']})
    _answer(server, 'PUT', allocation, 400, {'hosts': 1})
    _answer(server, 'DELETE', f'/v1/leases/{pinned["id"]}', 204)
    moved = _answer(server, 'PUT', allocation, 200, {})['allocation']
    assert moved['reservations'] == []

    # "mobile" is on compute-1 now: a window there moves it back, one on
    # compute-2 then cannot move it (409) unless forced (degraded).
    window = {'start_date': '2030-01-01 09:00', 'end_date': '2030-01-01 13:00',
              'reason': 'firmware'}
    first = f'/v1/os-hosts/{hosts["compute-1"]}/maintenances'
    created = _answer(server, 'POST', first, 201, window)['maintenance']
    assert [m['lease_id'] for m in created['moved']] == [mobile['id']]
    assert len(_answer(server, 'GET', first, 200)['maintenances']) == 1
    _answer(server, 'GET', '/v1/os-hosts/allocations', 200)
    second = f'/v1/os-hosts/{held}/maintenances'
    _answer(server, 'POST', second, 409, window)
    forced = _answer(server, 'POST', second, 201, {**window, 'force': True})
    assert [m['lease_id'] for m in forced['maintenance']['degraded']] == [mobile['id']]
    degraded = _answer(server, 'GET', f'/v1/leases/{mobile["id"]}', 200)['lease']
    assert degraded['degraded'] and degraded['reservations'][0]['healing']
    _answer(server, 'POST', second, 400, {**window, 'end_date': '2029-01-01 09:00'})
    ended = f'{second}/{forced["maintenance"]["id"]}'
    _answer(server, 'DELETE', ended, 204)
    _answer(server, 'DELETE', ended, 404)


def test_the_availability_usage_and_capacity_answers_are_as_described(server):
    # Hosts are enrolled here unless the host-failure story ran first.
    enrolled = _answer(server, 'GET', '/v1/os-hosts', 200)['hosts']
    names = {h['hypervisor_hostname'] for h in enrolled}
    for name in ('compute-1', 'compute-2', 'compute-3'):
        if name not in names:
            _answer(server, 'POST', '/v1/os-hosts', 201, {'name': name})
    window = 'start_after=2031-01-01T00:00:00Z&end_before=2031-01-02T00:00:00Z'
    found = _answer(server, 'GET', f'/v1/availability?duration=60&min=2&{window}',
                    200)['availability']
    assert found['windows'][0]['free'] == 3 and found['windows'][0]['hosts']
    _answer(server, 'GET', '/v1/availability?min=1', 400)
    lease = {'name': 'booked', 'start_date': '2031-01-01 10:00',
             'end_date': '2031-01-01 12:00',
             'reservations': [{'resource_type': 'physical:host', 'min': 1, 'max': 1,
                               'hypervisor_properties': '',
                               'resource_properties': ''}]}
    assert _answer(server, 'POST', '/v1/leases/check', 200, lease) == {
        'check': {'accepted': True}}
    week = dict(lease, end_date='2031-01-09 10:00')
    refused = _answer(server, 'POST', '/v1/leases/check', 200, week)['check']
    assert (refused['accepted'], refused['rule']) == (False, 'MaxLeaseDurationFilter')
    assert _answer(server, 'POST', '/v1/leases', 403, week)['rule'] == \
        'MaxLeaseDurationFilter'
    booked = _answer(server, 'POST', '/v1/leases', 201, lease)['lease']
    busy = _answer(server, 'GET', '/v1/availability/busy?start=2031-01-01T00:00:00Z'
                   '&end=2031-01-02T00:00:00Z', 200)['busy']
    assert [b['lease_id'] for h in busy['hosts'] for b in h['busy']] == [booked['id']]
    usage = _answer(server, 'GET', '/v1/usage?start=2031-01-01T00:00:00Z'
                    '&end=2031-01-02T00:00:00Z', 200)['usage']
    assert usage['resources']['hosts'] == {'usage': 1, 'limit': 50}
    _answer(server, 'GET', '/v1/usage?start=bogus', 400)

    capacity = _answer(server, 'POST', '/v1/leases', 201, {
        'name': 'capacity', 'start_date': '2031-02-01 10:00',
        'end_date': '2031-02-01 12:00', 'before_end_date': None, 'events': [],
        'reservations': [{'resource_type': 'virtual:instance', 'vcpus': 1,
                          'memory_mb': 512, 'disk_gb': 1, 'amount': 2,
                          'affinity': 'None', 'resource_properties': ''}]})['lease']
    shown = _answer(server, 'GET', f'/v1/leases/{capacity["id"]}', 200)['lease']
    reservation = shown['reservations'][0]
    assert reservation['flavor_id'] == reservation['id']
    assert reservation['amount'] == 2 and reservation['affinity'] is None
    grown = _answer(server, 'PUT', f'/v1/leases/{capacity["id"]}', 200, {
        'reservations': [{'id': reservation['id'], 'amount': '3'}]})['lease']
    assert grown['reservations'][0]['amount'] == 3
    _answer(server, 'PUT', f'/v1/leases/{capacity["id"]}', 409, {
        'reservations': [{'id': reservation['id'], 'affinity': True}]})
    _answer(server, 'POST', '/v1/leases', 400, {
        'name': 'no-flavor', 'start_date': '2031-02-01 10:00',
        'end_date': '2031-02-01 12:00',
        'reservations': [{'resource_type': 'flavor:instance', 'flavor_id': 'm9.none',
                          'amount': 1}]})
    _answer(server, 'DELETE', f'/v1/leases/{capacity["id"]}', 204)
    _answer(server, 'DELETE', f'/v1/leases/{booked["id"]}', 204)
