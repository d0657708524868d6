"""schemathesis against a real ``climate-all-in-one`` process: every operation of the
OpenAPI description (``climate/api/openapi.yaml``), with requests generated from it,
as an admin and as a project member (noauth identity headers).

The process runs the real ``physical:host`` plugin on the in-memory compute driver
and a fresh MariaDB database. No answer may be a 5xx, and every answer must conform
to the description (status code described, content type, body schema, headers).
Generation is bounded (:data:`EXAMPLES` per operation and identity, derandomized so
that a run is repeatable) to keep the module well under a minute.

Generated host ids name no enrolled host, so the host routes' success answers are
checked by a scripted story too (:func:`test_the_host_failure_answers_are_as_described`).
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
    process = all_in_one.AllInOne(tmp)
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
