"""``DirectManagerAPI`` behaves like the RPC client: JSON-shaped results, exceptions
rebuilt as oslo.messaging rebuilds them, the context passed as its dict."""

import datetime

import oslo_messaging as messaging
import pytest

from climate.api import direct
from climate import context as climate_context
from climate import exceptions


class InternalError(Exception):
    pass


class Endpoint:
    def __init__(self):
        self.seen = []

    def get_lease(self, ctxt, lease_id):
        self.seen.append(ctxt)
        if lease_id == 'missing':
            raise exceptions.LeaseNotFound(lease_id=lease_id)
        if lease_id == 'boom':
            raise InternalError('internal detail')
        return {'id': lease_id, 'when': datetime.datetime(2030, 1, 1, 10, 0),
                'pair': (1, 2)}

    def call_plugin(self, ctxt, resource_type, plugin_method, kwargs=None):
        if resource_type != 'physical:host':
            raise exceptions.UnsupportedResourceType(resource_type=resource_type)
        return {'method': plugin_method, 'kwargs': kwargs}

    def list_leases(self, ctxt, filters=None):
        return [filters]


@pytest.fixture
def endpoint():
    return Endpoint()


@pytest.fixture
def api(endpoint):
    return direct.DirectManagerAPI(endpoint)


CTX = climate_context.RequestContext(user_id='u', project_id='p', roles=['member'],
                                     request_id='req-1')


def test_results_are_json_round_tripped(api):
    lease = api.get_lease(CTX, 'l1')
    assert lease['when'] == '2030-01-01T10:00:00.000000'
    assert lease['pair'] == [1, 2]


def test_the_context_arrives_as_a_fresh_copy(api, endpoint):
    api.get_lease(CTX, 'l1')
    seen = endpoint.seen[0]
    assert seen is not CTX
    assert (seen.user_id, seen.project_id, seen.roles, seen.request_id) == \
        ('u', 'p', ['member'], 'req-1')


def test_climate_exceptions_keep_their_type_and_message(api):
    with pytest.raises(exceptions.LeaseNotFound) as raised:
        api.get_lease(CTX, 'missing')
    assert raised.value.code == 404
    # str() carries the remote traceback, as over RPC; .message is the clean text.
    assert raised.value.message == 'Lease missing not found'


def test_other_exceptions_become_remote_errors(api):
    with pytest.raises(messaging.RemoteError) as raised:
        api.get_lease(CTX, 'boom')
    assert raised.value.exc_type == 'InternalError'


def test_plugin_calls_pass_keyword_arguments(api):
    assert api.call_plugin(CTX, 'physical:host', 'get_host', host_id='1') == \
        {'method': 'get_host', 'kwargs': {'host_id': '1'}}
    with pytest.raises(exceptions.UnsupportedResourceType):
        api.call_plugin(CTX, 'virtual:floatingip', 'list')


def test_filters_default_to_empty(api):
    assert api.list_leases(CTX) == [{}]
