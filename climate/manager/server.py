"""A running manager: plugins, lease service, event engine and RPC server together."""

import oslo_messaging as messaging
from oslo_log import log as logging

from climate import context as climate_context
from climate import rpc
from climate.manager import endpoint
from climate.manager import engine
from climate.manager import notifications
from climate.manager import rpcapi
from climate.manager import service
from climate.plugins import loader

LOG = logging.getLogger(__name__)


class Manager:

    def __init__(self, conf, transport=None, notifier=None):
        self.conf = conf
        transport = transport or rpc.get_transport(conf)
        self.plugins = loader.load_plugins(conf)
        self.service = service.LeaseService(
            conf, self.plugins, notifier or notifications.LeaseNotifier(conf))
        self.engine = engine.EventEngine(conf, self.service)
        self._peers = rpcapi.ManagerAPI(conf, transport=transport)
        self.service.set_waker(self._wake_all)
        target = messaging.Target(topic=conf.manager.rpc_topic, server=self.engine.owner)
        self.server = rpc.get_server(
            target, [endpoint.ManagerEndpoint(self.service, self.engine, self.plugins)],
            conf, transport=transport, serializer=climate_context.ContextSerializer())

    def _wake_all(self):
        self.engine.wake()
        try:
            self._peers.wake(climate_context.admin_context())
        except Exception:  # peers still poll; a lost wake-up only delays them
            LOG.exception('Could not wake the other managers')

    def start(self):
        self.server.start()
        self.engine.start()
        LOG.info('Manager %s serving topic %s', self.engine.owner,
                 self.conf.manager.rpc_topic)

    def stop(self):
        self.server.stop()
        self.engine.stop()
        self.server.wait()
