"""ExternalServiceFilter against a real HTTP server started here: Blazar's payloads
and token, 204 accepts, 403 refuses with the service's message, a dead service is a
503 that changes nothing, and the end of a lease is notified."""

import http.server
import json
import threading

import pytest

from climate import exceptions
from tests.functional.enforcement.test_rules import enforce
from tests.functional.enforcement.test_rules import refused
from tests.functional.enforcement.test_rules import unchanged
from tests.functional.enforcement.test_rules import update
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import future
from tests.functional.plugins.physical_host.conftest import wait_for
from tests.functional.plugins.physical_host.test_lifecycle import seconds

# What is checked here is HTTP, not SQL: one real backend is enough (the rules that
# count in SQL run on every backend in test_rules and test_quotas).
pytestmark = pytest.mark.parametrize('database', ['mysql'], indirect=True)


class PolicyService(http.server.ThreadingHTTPServer):
    """Records every POST; answers 204, or 403 with a message when ``deny``."""

    def __init__(self):
        super().__init__(('127.0.0.1', 0), _Handler)
        self.calls = []
        self.deny = None

    @property
    def url(self):
        return f'http://127.0.0.1:{self.server_address[1]}'


class _Handler(http.server.BaseHTTPRequestHandler):

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        self.server.calls.append((self.path, dict(self.headers), body))
        if self.server.deny and self.path != '/on-end':
            data = json.dumps({'message': self.server.deny}).encode()
            self.send_response(403)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def service():
    server = PolicyService()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def policy_service(service):
    service.calls.clear()
    service.deny = None
    return service


def test_create_and_update_payloads_token_and_answers(hosts_env, policy_service):
    env, svc = hosts_env, policy_service
    env.enroll_many(2)
    enforce(env, 'ExternalServiceFilter', external_service_base_endpoint=svc.url,
            external_service_token='s3cret')
    start = future()
    lease = env.create(start, start + HOUR, name='asked')
    path, headers, body = svc.calls[-1]
    assert path == '/check-create'
    assert headers['X-Auth-Token'] == 's3cret'
    assert body['context'] == {'user_id': 'u1', 'project_id': 'p1',
                               'auth_url': None, 'region_name': None}
    assert body['lease']['name'] == 'asked'
    assert body['lease']['start_date'] == start.isoformat()
    assert body['lease']['end_date'] == (start + HOUR).isoformat()
    assert body['lease']['reservations'] == [
        {'min': 1, 'max': 1, 'resource_type': 'physical:host'}]

    update(env, lease, end_date=start + 2 * HOUR)
    path, _headers, body = svc.calls[-1]
    assert path == '/check-update'
    assert body['current_lease']['end_date'] == (start + HOUR).isoformat()
    assert body['lease']['end_date'] == (start + 2 * HOUR).isoformat()
    assert body['lease']['id'] == lease['id']
    assert body['lease']['reservations'][0]['id'] == lease['reservations'][0]['id']

    svc.deny = 'Your allocation is used up'
    error = refused(env.create, start, start + HOUR)
    assert error.message == 'Your allocation is used up'
    current = env.service.get_lease(env.ctx, lease['id'])
    refused(update, env, current, end_date=start + 5 * HOUR)
    assert unchanged(env, current)
    assert len(env.service.list_leases(env.admin)) == 1


def test_endpoints_set_one_by_one(hosts_env, policy_service):
    env, svc = hosts_env, policy_service
    env.enroll_many(1)
    enforce(env, 'ExternalServiceFilter',
            external_service_check_update_endpoint=svc.url + '/custom-update')
    start = future()
    lease = env.create(start, start + HOUR)
    assert svc.calls == []                   # no create endpoint: not asked
    update(env, lease, end_date=start + 2 * HOUR)
    assert [c[0] for c in svc.calls] == ['/custom-update']


def test_unreachable_service_is_a_503_that_changes_nothing(hosts_env):
    env = hosts_env
    env.enroll_many(1)
    # A port nobody listens on (the kernel refuses the connection at once).
    enforce(env, 'ExternalServiceFilter',
            external_service_base_endpoint='http://127.0.0.1:9')
    start = future()
    with pytest.raises(exceptions.PolicyServiceUnavailable) as caught:
        env.create(start, start + HOUR)
    assert caught.value.code == 503
    assert env.service.list_leases(env.admin) == []


def test_on_end_is_notified_when_a_lease_ends(hosts_env, policy_service):
    env, svc = hosts_env, policy_service
    env.enroll_many(1)
    enforce(env, 'ExternalServiceFilter', external_service_base_endpoint=svc.url)
    env.start_engine()
    lease = env.create('now', seconds(3))
    wait_for(lambda: any(c[0] == '/on-end' for c in svc.calls), timeout=30)
    (_path, _headers, body), = [c for c in svc.calls if c[0] == '/on-end']
    assert body['lease']['id'] == lease['id']
    assert body['context']['project_id'] == 'p1'
    wait_for(lambda: env.service.get_lease(env.ctx, lease['id'])['status'] ==
             'TERMINATED', timeout=10)


def test_on_end_is_notified_when_a_lease_is_deleted_before_its_end(hosts_env,
                                                                   policy_service):
    env, svc = hosts_env, policy_service
    env.enroll_many(1)
    enforce(env, 'ExternalServiceFilter', external_service_base_endpoint=svc.url)
    start = future()
    lease = env.create(start, start + HOUR)
    env.service.delete_lease(env.ctx, lease['id'])
    assert [c[0] for c in svc.calls] == ['/check-create', '/on-end']
    assert svc.calls[-1][2]['lease']['id'] == lease['id']
    assert svc.calls[-1][2]['lease']['end_date'] == (start + HOUR).isoformat()
