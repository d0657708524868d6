"""Climate's RPC plumbing carries calls over the real broker and the in-process one."""

import threading
import uuid

import oslo_messaging as messaging
import pytest
from oslo_config import cfg

from climate import rpc


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
