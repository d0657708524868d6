"""A manager configured as an operator configures it (``[oslo_messaging_notifications]
driver = messagingv2`` on RabbitMQ) notifies a real oslo.messaging listener of a
lease's life, with Blazar's event types, priority and payload and the publisher id of
``[notifications] publisher_id``.

Each test uses an exchange and a notification topic of its own (``notifications-``
plus a random suffix: the notifier declares a durable queue named after the topic, so
the shared ``notifications.info`` queue would keep every test's messages), and deletes
them afterwards.
"""

import datetime
import queue
import re
import types
import uuid

import kombu
from oslo_config import cfg
import oslo_messaging as messaging
import pytest

from climate import context as climate_context
import climate.conf as climate_conf
from climate.manager import server
from climate.plugins import dummy
from tests.functional.manager.conftest import lease_body
from tests.functional.manager.conftest import soon

PRIORITIES = ('audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample')
BLAZAR_KEYS = {'lease_id', 'user_id', 'project_id', 'trust_id', 'start_date', 'end_date',
               'status', 'reservations', 'events', 'name', 'created_at', 'updated_at',
               'degraded'}
BLAZAR_DATE = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$')
BLAZAR_STAMP = re.compile(r'^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$')
LIFE = ['lease.create', 'lease.update', 'lease.event.start_lease',
        'lease.event.end_lease', 'lease.delete']


class Consumer:
    """A notification endpoint taking every priority, so that the test sees which
    priority a notification was sent with."""

    def __init__(self):
        self.received = queue.Queue()

    def __getattr__(self, priority):
        if priority not in PRIORITIES:
            raise AttributeError(priority)

        def receive(ctxt, publisher_id, event_type, payload, metadata):
            self.received.put({'priority': priority.upper(), 'publisher_id': publisher_id,
                               'event_type': event_type, 'payload': payload})
        return receive

    def take(self, count, timeout=30):
        return [self.received.get(timeout=timeout) for _ in range(count)]


@pytest.fixture
def broker(rabbit_url):
    name = f'climate-test-{uuid.uuid4().hex[:8]}'
    place = types.SimpleNamespace(url=rabbit_url, exchange=name,
                                  topic=f'notifications-{name}')
    yield place
    # kombu calls oslo.messaging's rabbit:// scheme amqp://.
    with kombu.Connection(re.sub(r'^rabbit://', 'amqp://', rabbit_url)) as connection:
        channel = connection.channel()
        for priority in PRIORITIES:
            kombu.Queue(f'{place.topic}.{priority}', channel=channel).delete()
        kombu.Exchange(place.exchange, channel=channel).delete()


def manager_conf(tmp_path, broker, publisher_id=None):
    path = tmp_path / 'climate.conf'
    publisher = f'[notifications]\npublisher_id = {publisher_id}\n' if publisher_id else ''
    path.write_text(f"""[DEFAULT]
transport_url = {broker.url}
control_exchange = {broker.exchange}
[manager]
minutes_before_end_lease = 0
max_poll_interval = 2
[dummy_plugin]
journal = {tmp_path / 'journal.jsonl'}
[oslo_messaging_notifications]
driver = messagingv2
topics = {broker.topic}
{publisher}""")
    conf = cfg.ConfigOpts()
    for module in climate_conf.ALL_MODULES:
        module.register_opts(conf)
    conf(['--config-file', str(path)], project='climate', default_config_files=[])
    return conf


def live_lease(tmp_path, broker, publisher_id):
    """Create, update, run and delete one lease on a manager of this process; return
    what a listener on the manager's notification topic received, and the lease."""
    conf = manager_conf(tmp_path, broker, publisher_id)
    consumer = Consumer()
    listen_transport = messaging.get_notification_transport(conf)
    listener = messaging.get_notification_listener(
        listen_transport, [messaging.Target(topic=broker.topic, exchange=broker.exchange)],
        [consumer], executor='threading')
    listener.start()
    manager = server.Manager(conf, serve_rpc=False,
                             plugins={'dummy:resource': dummy.DummyPlugin(conf)})
    manager.start()
    ctx = climate_context.RequestContext(user_id='u1', project_id='p1', roles=['member'])
    try:
        start = soon(3)  # time to create and update it before it starts
        lease = manager.api.create_lease(
            ctx, lease_body(start, start + datetime.timedelta(hours=1)))
        manager.api.update_lease(
            ctx, lease['id'], {'end_date': (start + datetime.timedelta(seconds=2))
                               .isoformat()})
        # Up to lease.event.end_lease, sent once the lease is TERMINATED; deleting the
        # lease before that would leave the engine no lease to notify about.
        received = consumer.take(len(LIFE) - 1)
        shown = manager.api.get_lease(ctx, lease['id'])
        manager.api.delete_lease(ctx, lease['id'])
        received += consumer.take(1)
    finally:
        listener.stop()
        listener.wait()
        listen_transport.cleanup()
        manager.stop()
        manager.service.notifier.transport.cleanup()
    return received, shown


# What is sent does not depend on the database: one backend is enough.
@pytest.mark.parametrize('database', ['sqlite'], indirect=True)
@pytest.mark.parametrize('publisher_id, expected', [(None, 'climate.lease'),
                                                    ('blazar.lease', 'blazar.lease')])
def test_lease_life_reaches_a_listener_in_blazar_shape(migrated_database, broker, tmp_path,
                                                      publisher_id, expected):
    received, shown = live_lease(tmp_path, broker, publisher_id)
    assert [n['event_type'] for n in received] == LIFE
    assert {n['publisher_id'] for n in received} == {expected}
    assert {n['priority'] for n in received} == {'INFO'}
    for notification in received:
        payload = notification['payload']
        assert BLAZAR_KEYS <= set(payload), notification['event_type']
        assert payload['lease_id'] == payload['id'] == shown['id']
        assert (payload['user_id'], payload['project_id'], payload['name'],
                payload['trust_id'], payload['degraded']) == ('u1', 'p1', 'lease', None,
                                                              False)
        assert BLAZAR_DATE.match(payload['start_date'])
        assert BLAZAR_STAMP.match(payload['created_at'])
        assert [r['lease_id'] for r in payload['reservations']] == [shown['id']]
        assert {e['event_type'] for e in payload['events']} == {'start_lease', 'end_lease'}
        for event in payload['events']:
            assert event['lease_id'] == shown['id']
            assert BLAZAR_DATE.match(event['time'])
    by_type = {n['event_type']: n['payload'] for n in received}
    assert by_type['lease.create']['status'] == 'PENDING'
    assert by_type['lease.create']['end_date'] != shown['end_date']
    assert by_type['lease.update']['end_date'] == shown['end_date']
    assert by_type['lease.event.start_lease']['status'] == 'ACTIVE'
    assert by_type['lease.event.end_lease']['status'] == 'TERMINATED'
    assert by_type['lease.event.end_lease']['start_date'] == shown['start_date']
    assert {e['event_type']: e['status']
            for e in by_type['lease.event.end_lease']['events']} == {
        'start_lease': 'DONE', 'end_lease': 'DONE'}
    assert by_type['lease.event.end_lease']['reservations'][0]['status'] == 'deleted'
