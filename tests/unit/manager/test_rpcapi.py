"""``ManagerAPI`` is the one client of the manager: in this process it behaves as over
RPC (JSON-shaped arguments and results, exceptions rebuilt as oslo.messaging rebuilds
them, the context passed as its dict), and it has exactly the endpoint's methods."""

import datetime
import inspect

from oslo_config import cfg
import oslo_messaging as messaging
import pytest

from climate import context as climate_context
from climate import exceptions
from climate import rpc
from climate.compute import exceptions as compute_exc
import climate.conf  # noqa: F401  (registers [manager] on the global CONF)
from climate.manager import endpoint as endpoint_mod
from climate.manager import rpcapi


class InternalError(Exception):
    pass


class Service:
    """The lease service's request methods, recording what reaches them."""

    def __init__(self):
        self.seen = []
        self.keys = []

    def create_lease(self, ctxt, values, idempotency_key=None):
        self.seen.append((ctxt, values))
        self.keys.append(idempotency_key)
        if values.get('nova') == 409:
            raise compute_exc.ComputeError('in use', status_code=409)
        if values.get('nova') == 503:
            raise compute_exc.ComputeError('down', retryable=True, status_code=503)
        return dict(values, id='l1')

    def get_lease(self, ctxt, lease_id):
        self.seen.append((ctxt, lease_id))
        if lease_id == 'missing':
            raise exceptions.LeaseNotFound(lease_id=lease_id)
        if lease_id == 'broken':
            raise exceptions.ClimateException('the database is gone')
        if lease_id == 'boom':
            raise InternalError('internal detail')
        return {'id': lease_id, 'when': datetime.datetime(2030, 1, 1, 10, 0),
                'pair': (1, 2)}

    def list_leases(self, ctxt, **filters):
        return [filters]

    def list_leases_page(self, ctxt, compressed=False, **filters):
        self.seen.append((ctxt, compressed))
        text = '[{"id": "l1", "name": "\\u00fc"}]'
        if compressed:
            return {'leases_packed': rpc.pack(text.encode()), 'size': len(text),
                    'count': 1, 'last_id': 'l1', 'filters': filters}
        return {'leases': text, 'count': 1, 'last_id': 'l1', 'filters': filters}

    def update_lease(self, ctxt, lease_id, values):
        return dict(values, id=lease_id)

    def delete_lease(self, ctxt, lease_id):
        self.seen.append((ctxt, lease_id))


class Engine:
    def __init__(self):
        self.wakes = 0

    def wake(self):
        self.wakes += 1


class HostPlugin:
    rpc_methods = ('get_host',)

    def get_host(self, ctxt, host_id):
        return {'id': host_id}


@pytest.fixture
def service():
    return Service()


@pytest.fixture
def engine():
    return Engine()


@pytest.fixture
def endpoint(service, engine):
    return endpoint_mod.ManagerEndpoint(service, engine, {'physical:host': HostPlugin()})


@pytest.fixture
def api(endpoint):
    return rpcapi.ManagerAPI(local=endpoint)


CTX = climate_context.RequestContext(user_id='u', project_id='p', roles=['member'],
                                     request_id='req-1', auth_token='token')


def test_results_are_json_round_tripped(api):
    lease = api.get_lease(CTX, 'l1')
    assert lease['when'] == '2030-01-01T10:00:00.000000'
    assert lease['pair'] == [1, 2]


def test_arguments_are_json_round_tripped(api, service):
    api.create_lease(CTX, {'start': datetime.datetime(2030, 1, 1), 'pair': (1, 2)})
    _ctxt, values = service.seen[0]
    assert values == {'start': '2030-01-01T00:00:00.000000', 'pair': [1, 2]}


def test_the_idempotency_key_travels_with_create_lease(api, service):
    api.create_lease(CTX, {'name': 'a'}, 'key-1')
    api.create_lease(CTX, {'name': 'b'})
    assert service.keys == ['key-1', None]


def test_a_call_with_a_key_asks_for_version_1_1():
    transport = messaging.get_rpc_transport(cfg.CONF, url='fake:///')
    try:
        remote = rpcapi.ManagerAPI(cfg.CONF, transport=transport)
        assert remote._prepare(version='1.1').target.version == '1.1'
        assert remote._prepare(version='1.4').target.version == '1.4'
        # The endpoint serves the latest version (1.5: compressed listing pages), so
        # every earlier call too.
        assert endpoint_mod.ManagerEndpoint.target.version == '1.5'
    finally:
        transport.cleanup()


def test_the_context_arrives_as_a_fresh_copy(api, service):
    api.get_lease(CTX, 'l1')
    seen = service.seen[0][0]
    assert seen is not CTX
    assert isinstance(seen, climate_context.RequestContext)
    assert (seen.user_id, seen.project_id, seen.roles, seen.request_id,
            seen.auth_token) == ('u', 'p', ['member'], 'req-1', 'token')


def test_climate_exceptions_keep_their_type_and_message(api):
    with pytest.raises(exceptions.LeaseNotFound) as raised:
        api.get_lease(CTX, 'missing')
    assert raised.value.code == 404
    # str() carries the remote traceback, as over RPC; .message is the clean text.
    assert raised.value.message == 'Lease missing not found'


def test_server_errors_keep_their_type_and_message(api):
    with pytest.raises(exceptions.ClimateException) as raised:
        api.get_lease(CTX, 'broken')
    # oslo.messaging's rebuilt class: a subclass of the original, named after it.
    assert type(raised.value).__name__.startswith('ClimateException')
    assert raised.value.code == 500
    assert raised.value.message == 'the database is gone'


def test_compute_errors_arrive_as_the_api_answers_them(api):
    with pytest.raises(exceptions.Conflict) as raised:
        api.create_lease(CTX, {'nova': 409})
    assert raised.value.code == 409
    assert 'in use' in raised.value.message
    with pytest.raises(exceptions.ComputeUnavailable) as raised:
        api.create_lease(CTX, {'nova': 503})
    assert raised.value.code == 503


def test_other_exceptions_become_remote_errors(api):
    with pytest.raises(messaging.RemoteError) as raised:
        api.get_lease(CTX, 'boom')
    assert raised.value.exc_type == 'InternalError'
    assert 'internal detail' in raised.value.value


def test_plugin_calls_pass_keyword_arguments(api):
    assert api.call_plugin(CTX, 'physical:host', 'get_host', host_id='1') == {'id': '1'}
    with pytest.raises(exceptions.UnsupportedResourceType):
        api.call_plugin(CTX, 'virtual:floatingip', 'list')
    with pytest.raises(exceptions.InvalidInput):
        api.call_plugin(CTX, 'physical:host', 'delete_everything')


def test_filters_default_to_empty(api):
    assert api.list_leases(CTX) == [{}]
    assert api.list_leases(CTX, {'status': 'ACTIVE'}) == [{'status': 'ACTIVE'}]
    assert api.list_leases_page(CTX)['filters'] == {}


def test_a_page_travels_compressed_with_its_size(api, service):
    page = api.list_leases_page(CTX, {'status': 'ACTIVE'})
    assert rpc.unpack(page.pop('leases_packed')) == b'[{"id": "l1", "name": "\\u00fc"}]'
    assert page == {'size': 32, 'count': 1, 'last_id': 'l1',
                    'filters': {'status': 'ACTIVE'}}
    assert service.seen[-1][1] is True


def test_update_and_delete(api, service):
    assert api.update_lease(CTX, 'l1', {'name': 'n'}) == {'name': 'n', 'id': 'l1'}
    assert api.delete_lease(CTX, 'l1') is None
    assert service.seen[-1][1] == 'l1'


def test_wake_wakes_the_engine_of_this_process(api, engine):
    api.wake(CTX)
    assert engine.wakes == 1


def test_client_errors_are_marked_expected_for_the_rpc_server(endpoint):
    with pytest.raises(messaging.ExpectedException) as raised:
        endpoint.get_lease(CTX, 'missing')
    assert isinstance(raised.value.exc_info[1], exceptions.LeaseNotFound)
    with pytest.raises(exceptions.ClimateException):
        endpoint.get_lease(CTX, 'broken')
    with pytest.raises(InternalError):
        endpoint.get_lease(CTX, 'boom')


def _public_methods(obj):
    return {name for name, _ in inspect.getmembers(obj, inspect.isroutine)
            if not name.startswith('_')}


def test_local_and_remote_clients_have_exactly_the_endpoints_methods(endpoint):
    transport = messaging.get_rpc_transport(cfg.CONF, url='fake:///')
    try:
        remote = rpcapi.ManagerAPI(cfg.CONF, transport=transport)
        local = rpcapi.ManagerAPI(local=endpoint)
        expected = _public_methods(endpoint)
        assert expected == {'create_lease', 'get_lease', 'list_leases',
                            'list_leases_page', 'update_lease', 'delete_lease',
                            'call_plugin', 'wake', 'find_availability', 'list_busy',
                            'check_lease', 'get_usage'}
        assert _public_methods(remote) == expected
        assert _public_methods(local) == expected
    finally:
        transport.cleanup()
