"""Climate's RPC plumbing carries calls over the real broker and the in-process one,
and the manager's client and endpoint behave on both: exceptions arrive as raised, a
client error (4xx) is not logged as an error by the RPC server, wake-ups fan out."""

import json
import logging
import threading
import uuid

from oslo_config import cfg
import oslo_messaging as messaging
import pytest

from climate import context as climate_context
from climate import exceptions
from climate import rpc
import climate.conf  # noqa: F401  (registers [manager] on the global CONF)
from climate.manager import endpoint as manager_endpoint
from climate.manager import rpcapi


class _Echo:
    target = messaging.Target(version='1.0')

    def __init__(self):
        self.threads = set()

    def echo(self, ctxt, value):
        self.threads.add(threading.current_thread().name)
        return {'value': value, 'ctxt': ctxt}


@pytest.fixture(params=['rabbit', 'fake'])
def transport_url(request):
    if request.param == 'rabbit':
        return request.getfixturevalue('rabbit_url')
    return 'fake:///'


def test_call_round_trip(transport_url):
    conf = cfg.CONF  # the fake driver only works with the global CONF
    transport = messaging.get_rpc_transport(conf, url=transport_url)
    topic = f'climate-test-{uuid.uuid4().hex[:8]}'
    endpoint = _Echo()
    server = rpc.get_server(messaging.Target(topic=topic, server='s1'), [endpoint],
                            conf=conf, transport=transport)
    server.start()
    try:
        client = rpc.get_client(messaging.Target(topic=topic, version='1.0'), conf=conf,
                                transport=transport, timeout=10)
        result = client.call({'request_id': 'req-1'}, 'echo', value=[1, 'two'])
        assert result['value'] == [1, 'two']
        assert result['ctxt']['request_id'] == 'req-1'
        # The threading executor, not eventlet, runs the endpoint.
        assert endpoint.threads and not any('GreenThread' in t for t in endpoint.threads)
    finally:
        server.stop()
        server.wait()
        transport.cleanup()


class InternalError(Exception):
    pass


class _Service:
    """Answers ``get_lease`` with a lease, a 404, a 500 or a non-Climate error, and
    listing pages (recording whether they were asked compressed)."""

    #: ``compressed`` of each listing page asked for, by any instance.
    pages = []

    def get_lease(self, ctxt, lease_id):
        if lease_id == 'missing':
            raise exceptions.LeaseNotFound(lease_id=lease_id)
        if lease_id == 'broken':
            raise exceptions.ClimateException('the database is gone')
        if lease_id == 'boom':
            raise InternalError('internal detail')
        return {'id': lease_id, 'user_id': ctxt.user_id}

    def create_lease(self, ctxt, values, idempotency_key=None):
        raise exceptions.UsageLimitExceeded(
            rule='QuotaFilter', reason='Quota exceeded for hosts',
            details={'resource': 'hosts', 'limit': 2, 'requested': 1, 'usage': 2})


    def list_leases_page(self, ctxt, compressed=False, **filters):
        self.pages.append(compressed)
        text = json.dumps([{'id': 'l1', 'name': '"ü" ' * 1000}])
        if compressed:
            return {'leases_packed': rpc.pack(text.encode()), 'size': len(text),
                    'count': 1, 'last_id': 'l1'}
        return {'leases': text, 'count': 1, 'last_id': 'l1'}


class _OldEndpoint(manager_endpoint.ManagerEndpoint):
    """A manager from before version 1.5 (as during an upgrade)."""

    target = messaging.Target(version='1.4')

    def list_leases_page(self, ctxt, filters=None):
        return self.service.list_leases_page(ctxt, **(filters or {}))


class _Engine:
    def __init__(self):
        self.woken = threading.Event()

    def wake(self):
        self.woken.set()


@pytest.fixture
def manager_servers(request, transport_url):
    """Two RPC servers of the manager's endpoint (``endpoint_class``, if the test is
    parametrized with one) on a fresh topic, and a ManagerAPI to them."""
    endpoint_class = getattr(request, 'param', manager_endpoint.ManagerEndpoint)
    conf = cfg.CONF  # the fake driver only works with the global CONF
    topic = f'climate-test-{uuid.uuid4().hex[:8]}'
    conf.set_override('rpc_topic', topic, group='manager')
    transport = messaging.get_rpc_transport(conf, url=transport_url,
                                            allowed_remote_exmods=rpc.ALLOWED_EXMODS)
    engines, servers = [], []
    for name in ('m1', 'm2'):
        engines.append(_Engine())
        servers.append(rpc.get_server(
            messaging.Target(topic=topic, server=name),
            [endpoint_class(_Service(), engines[-1], {})], conf=conf,
            transport=transport, serializer=climate_context.ContextSerializer()))
        servers[-1].start()
    try:
        yield rpcapi.ManagerAPI(conf, transport=transport, timeout=10), engines
    finally:
        for server in servers:
            server.stop()
            server.wait()
        transport.cleanup()
        conf.clear_override('rpc_topic', group='manager')


CTX = climate_context.RequestContext(user_id='u1', project_id='p1')


def _oslo_messaging_errors(caplog):
    return [record for record in caplog.records
            if record.name.startswith('oslo_messaging')
            and record.levelno >= logging.ERROR]


def test_client_errors_arrive_intact_and_are_not_logged_as_errors(manager_servers,
                                                                 caplog):
    api, _engines = manager_servers
    caplog.set_level(logging.DEBUG, logger='oslo_messaging')
    assert api.get_lease(CTX, 'l1') == {'id': 'l1', 'user_id': 'u1'}
    with pytest.raises(exceptions.LeaseNotFound) as raised:
        api.get_lease(CTX, 'missing')
    assert raised.value.code == 404
    assert raised.value.message == 'Lease missing not found'
    assert _oslo_messaging_errors(caplog) == []
    assert any('Expected exception' in record.getMessage()
               for record in caplog.records if record.levelno == logging.DEBUG)


def test_a_usage_policy_refusal_arrives_with_its_rule_and_numbers(manager_servers,
                                                                 caplog):
    api, _engines = manager_servers
    caplog.set_level(logging.DEBUG, logger='oslo_messaging')
    with pytest.raises(exceptions.UsageLimitExceeded) as raised:
        api.create_lease(CTX, {'name': 'x'})
    assert raised.value.code == 403
    assert raised.value.message == 'Quota exceeded for hosts'
    assert raised.value.kwargs['rule'] == 'QuotaFilter'
    assert raised.value.kwargs['details'] == {'resource': 'hosts', 'limit': 2,
                                              'requested': 1, 'usage': 2}
    assert _oslo_messaging_errors(caplog) == []


def test_server_errors_are_still_logged_as_errors(manager_servers, transport_url,
                                                  caplog):
    api, _engines = manager_servers
    with pytest.raises(exceptions.ClimateException) as raised:
        api.get_lease(CTX, 'broken')
    assert raised.value.code == 500
    assert raised.value.message == 'the database is gone'
    assert len(_oslo_messaging_errors(caplog)) == 1
    # The fake driver hands the exception object itself to the caller; a broker
    # carries it serialized, rebuilt as RemoteError outside the allowed modules.
    on_fake = transport_url.startswith('fake')
    with pytest.raises(InternalError if on_fake else messaging.RemoteError,
                       match='internal detail'):
        api.get_lease(CTX, 'boom')
    assert len(_oslo_messaging_errors(caplog)) == 2


def test_wake_reaches_every_manager(manager_servers):
    api, engines = manager_servers
    api.wake(CTX)
    for engine in engines:
        assert engine.woken.wait(10)


@pytest.mark.parametrize('manager_servers', [manager_endpoint.ManagerEndpoint, _OldEndpoint],
                         indirect=True, ids=['manager-1.5', 'manager-1.4'])
def test_a_listing_page_arrives_as_its_text_from_new_and_old_managers(manager_servers,
                                                                     request):
    """A 1.5 manager sends the page compressed; one older answers the 1.5 call with
    UnsupportedVersion, and the client asks it again plainly."""
    api, _engines = manager_servers
    _Service.pages.clear()
    page = api.list_leases_page(CTX, {'status': 'ACTIVE'})
    text = json.dumps([{'id': 'l1', 'name': '"ü" ' * 1000}])
    packed = page.pop('leases_packed', None)
    if packed is not None:
        assert rpc.unpack(packed) == text.encode() and page.pop('size') == len(text)
        page['leases'] = text
    assert page == {'leases': text, 'count': 1, 'last_id': 'l1'}
    old = request.node.callspec.params['manager_servers'] is _OldEndpoint
    # The old manager never saw the 1.5 call: its dispatcher refused the version.
    assert _Service.pages == ([False] if old else [True])
