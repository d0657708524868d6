"""``climate.client.api`` without a server: error bodies, lookups, relative updates."""

import datetime
import json

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session
import pytest

from climate.client import api
from climate.client.exceptions import ClimateClientError


class FakeResponse:

    def __init__(self, status, body):
        self.status_code = status
        self.text = body if isinstance(body, str) else json.dumps(body)
        self.reason = 'Reason'

    def json(self):
        return json.loads(self.text)


@pytest.mark.parametrize('body, message', [
    ({'error_code': 404, 'error_message': 'Lease x not found', 'error_name': 404},
     'Lease x not found'),
    ({'error': 405, 'error_message': 'Method not allowed'}, 'Method not allowed'),
    ({'error': {'code': 401, 'message': 'The request you have made requires '
                'authentication.', 'title': 'Unauthorized'}},
     'The request you have made requires authentication.'),
    ('<html>Bad gateway</html>', '<html>Bad gateway</html>'),
])
def test_error_message_of_each_error_shape(body, message):
    assert api._error_message(FakeResponse(400, body)) == message


class RecordingClient:
    """Stands in for ``Client``: records requests, answers from a table."""

    def __init__(self, answers):
        self.answers = answers
        self.sent = []

    def request(self, method, path, body=None, params=None):
        self.sent.append((method, path, body))
        return self.answers[(method, path)]


LEASE = {'id': '6c1c4a5e-0000-4000-8000-000000000001', 'name': 'l1',
         'start_date': '2030-01-01T10:00:00.000000',
         'end_date': '2030-01-02T10:00:00.000000'}


def _leases():
    client = RecordingClient({('GET', f"/leases/{LEASE['id']}"): {'lease': LEASE},
                              ('GET', '/leases'): {'leases': [LEASE, dict(LEASE, id='x2',
                                                                          name='twin'),
                                                              dict(LEASE, id='x3',
                                                                   name='twin')]},
                              ('PUT', f"/leases/{LEASE['id']}"): {'lease': LEASE}})
    return client, api.LeaseManager(client)


def test_relative_update_reads_the_lease_then_puts_absolute_dates():
    client, leases = _leases()
    leases.update(LEASE['id'], prolong_for=datetime.timedelta(days=1),
                  advance_by=datetime.timedelta(minutes=30))
    assert client.sent[-1] == ('PUT', f"/leases/{LEASE['id']}",
                               {'end_date': '2030-01-03 10:00',
                                'start_date': '2030-01-01 09:30'})


def test_update_refuses_an_end_date_with_a_relative_end():
    _, leases = _leases()
    with pytest.raises(ClimateClientError, match='either an end date'):
        leases.update(LEASE['id'], end='2030-01-05 10:00',
                      reduce_by=datetime.timedelta(hours=1))


def test_update_with_nothing_sends_nothing():
    client, leases = _leases()
    with pytest.raises(ClimateClientError, match='Nothing to update'):
        leases.update(LEASE['id'])
    assert client.sent == []


def test_find_by_uuid_name_and_ambiguous_name():
    client, leases = _leases()
    assert leases.find(LEASE['id']) == LEASE
    assert client.sent == [('GET', f"/leases/{LEASE['id']}", None)]
    assert leases.find('l1')['id'] == LEASE['id']
    with pytest.raises(ClimateClientError, match="2 leases are named 'twin'"):
        leases.find('twin')


# Retried creates ----------------------------------------------------------------------

class FakeHttp:
    """Stands in for the keystoneauth Adapter: each call takes the next outcome (an
    exception to raise or a (status, body) to answer) and records its headers."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls = []

    def request(self, path, method, **kwargs):
        self.calls.append((method, path, dict(kwargs['headers'])))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        status, body = outcome
        response = FakeResponse(status, body)
        response.headers = {}
        response.content = response.text.encode()
        return response


def _client(http, monkeypatch):
    monkeypatch.setattr(api.Client, 'RETRY_PAUSE', 0)
    client = api.Client(session.Session(), endpoint_override='http://x/v1')
    client.http = http
    return client


def _create(client, **kwargs):
    return client.leases.create('l1', '2030-01-01 10:00', '2030-01-02 10:00',
                                [{'resource_type': 'dummy:resource'}], **kwargs)


def test_create_is_retried_with_the_same_key(monkeypatch):
    http = FakeHttp(ks_exceptions.ConnectFailure('reset by peer'),
                    (503, {'error_message': 'no manager'}),
                    (201, {'lease': LEASE}))
    assert _create(_client(http, monkeypatch)) == LEASE
    keys = [headers.get('Idempotency-Key') for _, _, headers in http.calls]
    assert len(keys) == 3 and len(set(keys)) == 1 and keys[0]


def test_create_gives_up_after_three_attempts(monkeypatch):
    http = FakeHttp(*[ks_exceptions.ConnectFailure('refused')] * 3)
    with pytest.raises(ClimateClientError, match='Cannot reach'):
        _create(_client(http, monkeypatch))
    assert len(http.calls) == 3


def test_create_keeps_a_given_key_and_does_not_retry_answers(monkeypatch):
    http = FakeHttp((409, {'error_message': 'Conflict: not enough hosts'}))
    with pytest.raises(ClimateClientError, match='not enough hosts'):
        _create(_client(http, monkeypatch), idempotency_key='mine')
    assert [headers['Idempotency-Key'] for _, _, headers in http.calls] == ['mine']


def test_other_requests_are_not_retried(monkeypatch):
    http = FakeHttp(ks_exceptions.ConnectFailure('refused'))
    with pytest.raises(ClimateClientError, match='Cannot reach'):
        _client(http, monkeypatch).leases.list()
    assert len(http.calls) == 1


class PagingClient:
    """Answers listings in pages of two with Nova-style next links, as the API does
    with ``[api] max_limit = 2``; records the query of each request."""

    def __init__(self, items, collection='leases'):
        self.items = items
        self.collection = collection
        self.queries = []

    def request(self, method, path, body=None, params=None):
        params = dict(params or {})
        self.queries.append(params)
        ids = [item['id'] for item in self.items]
        start = ids.index(params['marker']) + 1 if 'marker' in params else 0
        size = min(int(params.get('limit', 2)), 2)
        page = self.items[start:start + size]
        body = {self.collection: page}
        if len(page) == size:
            body[f'{self.collection}_links'] = [{
                'rel': 'next',
                'href': f'http://elsewhere/v1{path}?limit={size}&marker={page[-1]["id"]}'}]
        return body


def test_listings_follow_next_links_to_the_last_page():
    leases = [dict(LEASE, id=f'l{i}', name=f'n{i}') for i in range(5)]
    paging = PagingClient(leases)
    assert api.LeaseManager(paging).list(status='ACTIVE') == leases
    assert [q.get('marker') for q in paging.queries] == [None, 'l1', 'l3']
    assert all(q['status'] == 'ACTIVE' for q in paging.queries)


def test_a_limit_stops_early_and_is_sent_as_the_page_size():
    paging = PagingClient([dict(LEASE, id=f'l{i}') for i in range(5)])
    assert [x['id'] for x in api.LeaseManager(paging).list(limit=3)] == ['l0', 'l1', 'l2']
    assert paging.queries == [{'limit': 3}, {'limit': 3, 'marker': 'l1'}]


def test_hosts_and_allocations_follow_their_links():
    hosts = [{'id': str(i), 'hypervisor_hostname': f'c{i}'} for i in range(1, 4)]
    assert api.HostManager(PagingClient(hosts, 'hosts')).list() == hosts
    allocations = [{'id': str(i), 'resource_id': str(i), 'reservations': []}
                   for i in range(1, 4)]
    assert api.AllocationManager(PagingClient(allocations, 'allocations')).list() == \
        allocations
