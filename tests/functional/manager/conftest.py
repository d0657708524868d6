"""A lease service and event engine in this process, on each database backend."""

import datetime

from oslo_config import cfg
from oslo_messaging.notify import _impl_test as test_notifications
import pytest

from climate import context as climate_context
from climate.common import timeutils
import climate.conf as climate_conf
from climate.plugins import dummy
from tests import manager_processes
from tests.functional import lease_service


@pytest.fixture
def manager_conf(tmp_path):
    conf = cfg.ConfigOpts()
    for module in climate_conf.ALL_MODULES:
        module.register_opts(conf)
    dummy.register_opts(conf)
    conf([], project='climate', default_config_files=[])
    conf.set_override('journal', str(tmp_path / 'journal.jsonl'), group='dummy_plugin')
    conf.set_override('event_retry_interval', 0.2, group='manager')
    conf.set_override('max_poll_interval', 2, group='manager')
    conf.set_override('claim_timeout', 3, group='manager')
    yield conf
    conf.reset()


class _Sent:
    """The notification messages the real Notifier sent through oslo.messaging's
    in-memory ``test`` driver, oldest first."""

    def _messages(self):
        return [message for _ctxt, message, _priority, _retry
                in test_notifications.NOTIFICATIONS]

    def __getitem__(self, index):
        return self._messages()[index]

    def __iter__(self):
        return iter(self._messages())

    def __len__(self):
        return len(self._messages())


@pytest.fixture
def sent_notifications():
    test_notifications.reset()
    yield _Sent()
    test_notifications.reset()


@pytest.fixture
def service(migrated_database, manager_conf, sent_notifications):
    plugins = {'dummy:resource': dummy.DummyPlugin(manager_conf)}
    with lease_service.lease_service(manager_conf, plugins) as service:
        yield service


@pytest.fixture
def engine(service, manager_conf):
    with lease_service.running_engine(service, manager_conf) as engine:
        yield engine


@pytest.fixture
def ctx():
    return climate_context.RequestContext(user_id='u1', project_id='p1', roles=['member'])


def lease_body(start, end, reservations=1, **extra):
    body = {'name': 'lease', 'start_date': _text(start), 'end_date': _text(end),
            'reservations': [{'resource_type': 'dummy:resource'}
                             for _ in range(reservations)]}
    body.update(extra)
    return body


def _text(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def soon(seconds):
    return timeutils.utcnow() + datetime.timedelta(seconds=seconds)


wait_for = manager_processes.wait_for
