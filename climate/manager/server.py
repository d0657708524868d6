"""The wiring of a manager: plugins, lease service, event engine, host monitor and
RPC endpoint,
built the same way for ``climate-manager`` (with an RPC server) and
``climate-all-in-one`` (without one: the API in the same process calls the endpoint
through :attr:`Manager.api`).
"""

from oslo_log import log as logging
import oslo_messaging as messaging

from climate import context as climate_context
from climate import rpc
from climate.manager import endpoint
from climate.manager import engine
from climate.manager import host_monitor
from climate.manager import notifications
from climate.manager import rpcapi
from climate.manager import service
from climate.plugins import loader

LOG = logging.getLogger(__name__)


class Manager:
    """One manager.

    With ``serve_rpc`` it serves topic ``[manager] rpc_topic`` on ``transport``
    (default: ``[DEFAULT] transport_url``) and a change to the leases wakes every
    manager; without, no transport is used and only this manager's engine is woken.
    ``plugins`` (name -> plugin) and ``notifier`` default to the configured ones.
    :attr:`api` is a ``ManagerAPI`` calling this manager in this process.
    """

    def __init__(self, conf, serve_rpc=True, transport=None, plugins=None,
                 notifier=None):
        self.conf = conf
        self.plugins = loader.load_plugins(conf) if plugins is None else plugins
        self.service = service.LeaseService(
            conf, self.plugins, notifier or notifications.LeaseNotifier(conf))
        self.engine = engine.EventEngine(conf, self.service)
        self.monitor = host_monitor.HostMonitor(conf, self.service, self.plugins)
        self.endpoint = endpoint.ManagerEndpoint(self.service, self.engine,
                                                 self.plugins)
        self.api = rpcapi.ManagerAPI(conf, local=self.endpoint)
        self.server = None
        if serve_rpc:
            transport = transport or rpc.get_transport(conf)
            self._peers = rpcapi.ManagerAPI(conf, transport=transport)
            self.service.set_waker(self._wake_all)
            target = messaging.Target(topic=conf.manager.rpc_topic,
                                      server=self.engine.owner)
            self.server = rpc.get_server(
                target, [self.endpoint], conf, transport=transport,
                serializer=climate_context.ContextSerializer())
        else:
            self.service.set_waker(self.engine.wake)

    def _wake_all(self):
        self.engine.wake()
        try:
            self._peers.wake(climate_context.admin_context())
        except Exception:  # peers still poll; a lost wake-up only delays them
            LOG.exception('Could not wake the other managers')

    def start(self):
        if self.server is not None:
            self.server.start()
        self.engine.start()
        self.monitor.start()
        if self.server is not None:
            LOG.info('Manager %s serving topic %s', self.engine.owner,
                     self.conf.manager.rpc_topic)
        else:
            LOG.info('Manager %s running in this process (no RPC server)',
                     self.engine.owner)

    def stop(self):
        if self.server is not None:
            self.server.stop()
        self.monitor.stop()
        self.engine.stop()
        if self.server is not None:
            self.server.wait()
