"""A lease service and event engine in this process, for tests of the manager and of
plugins: the real notifier on oslo.messaging's in-memory ``test`` driver."""

import contextlib

from oslo_config import cfg
import oslo_messaging as messaging

from climate.manager import engine as engine_mod
from climate.manager import notifications
from climate.manager import service as service_mod


@contextlib.contextmanager
def lease_service(conf, plugins):
    # The fake transport only works with the global CONF (its tracing options).
    transport = messaging.get_notification_transport(cfg.CONF, url='fake:///')
    notifier = notifications.LeaseNotifier(conf, transport=transport, driver='test')
    try:
        yield service_mod.LeaseService(conf, plugins, notifier)
    finally:
        transport.cleanup()


@contextlib.contextmanager
def running_engine(service, conf):
    engine = engine_mod.EventEngine(conf, service)
    service.set_waker(engine.wake)
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()
