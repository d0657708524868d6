"""The manager's RPC API served in the calling process (``climate-all-in-one``).

:class:`DirectManagerAPI` has the methods of ``climate.manager.rpcapi.ManagerAPI`` and
calls the manager's RPC endpoint directly, with what crossing RPC would do to the call:
the context travels as its dict, arguments and results are JSON round-tripped, and an
exception comes back as oslo.messaging rebuilds it (the same class for Climate's
exception modules, ``RemoteError`` otherwise). It saves the in-process ``fake://``
transport's ~50 ms per call, and that transport's need for the global ``cfg.CONF``.
"""

import sys

from oslo_messaging._drivers import common as rpc_common
from oslo_serialization import jsonutils

from climate import context as climate_context
from climate import rpc


def _round_trip(value):
    return jsonutils.loads(jsonutils.dumps(value))


class DirectManagerAPI:

    def __init__(self, endpoint):
        self._endpoint = endpoint

    def _call(self, ctxt, _method, **kwargs):
        ctxt = climate_context.RequestContext.from_dict(_round_trip(ctxt.to_dict()))
        kwargs = _round_trip(kwargs)
        try:
            result = getattr(self._endpoint, _method)(ctxt, **kwargs)
        except Exception:
            failure = rpc_common.serialize_remote_exception(sys.exc_info())
            raise rpc_common.deserialize_remote_exception(
                failure, rpc.ALLOWED_EXMODS) from None
        return _round_trip(result)

    def create_lease(self, ctxt, values):
        return self._call(ctxt, 'create_lease', values=values)

    def get_lease(self, ctxt, lease_id):
        return self._call(ctxt, 'get_lease', lease_id=lease_id)

    def list_leases(self, ctxt, filters=None):
        return self._call(ctxt, 'list_leases', filters=filters or {})

    def update_lease(self, ctxt, lease_id, values):
        return self._call(ctxt, 'update_lease', lease_id=lease_id, values=values)

    def delete_lease(self, ctxt, lease_id):
        return self._call(ctxt, 'delete_lease', lease_id=lease_id)

    def call_plugin(self, ctxt, resource_type, method, **kwargs):
        return self._call(ctxt, 'call_plugin', resource_type=resource_type,
                          plugin_method=method, kwargs=kwargs)

    def wake(self, ctxt):
        self._endpoint.wake(ctxt)


class LocalManager:
    """A manager without an RPC server: plugins, lease service, event engine and
    the RPC endpoint in this process, reached through :attr:`api` (a
    :class:`DirectManagerAPI`). Wake-ups go to this process's engine only."""

    def __init__(self, conf, plugins=None, notifier=None):
        from climate.manager import endpoint
        from climate.manager import engine
        from climate.manager import notifications
        from climate.manager import service
        from climate.plugins import loader
        self.plugins = loader.load_plugins(conf) if plugins is None else plugins
        self.service = service.LeaseService(
            conf, self.plugins, notifier or notifications.LeaseNotifier(conf))
        self.engine = engine.EventEngine(conf, self.service)
        self.service.set_waker(self.engine.wake)
        self.endpoint = endpoint.ManagerEndpoint(self.service, self.engine,
                                                 self.plugins)
        self.api = DirectManagerAPI(self.endpoint)

    def start(self):
        self.engine.start()

    def stop(self):
        self.engine.stop()
