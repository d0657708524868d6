"""Client side of the manager's RPC API (used by the REST API and by managers).

Remote Climate exceptions come back as the same class with the same ``message``
(``climate.exceptions`` is an allowed remote exception module), so callers can map them
to HTTP statuses.
"""

import oslo_messaging as messaging
from oslo_config import cfg

from climate import context as climate_context
from climate import rpc


class ManagerAPI:
    VERSION = '1.0'

    def __init__(self, conf=cfg.CONF, transport=None, timeout=None):
        target = messaging.Target(topic=conf.manager.rpc_topic, version=self.VERSION)
        self._client = rpc.get_client(target, conf, transport=transport,
                                      serializer=climate_context.ContextSerializer(),
                                      timeout=timeout)

    def create_lease(self, ctxt, values):
        return self._client.call(ctxt, 'create_lease', values=values)

    def get_lease(self, ctxt, lease_id):
        return self._client.call(ctxt, 'get_lease', lease_id=lease_id)

    def list_leases(self, ctxt, filters=None):
        return self._client.call(ctxt, 'list_leases', filters=filters or {})

    def update_lease(self, ctxt, lease_id, values):
        return self._client.call(ctxt, 'update_lease', lease_id=lease_id, values=values)

    def delete_lease(self, ctxt, lease_id):
        return self._client.call(ctxt, 'delete_lease', lease_id=lease_id)

    def call_plugin(self, ctxt, resource_type, method, **kwargs):
        # On the wire the plugin's method is ``plugin_method``: RPCClient.call takes
        # the RPC method's name as its own ``method`` argument.
        return self._client.call(ctxt, 'call_plugin', resource_type=resource_type,
                                 plugin_method=method, kwargs=kwargs)

    def wake(self, ctxt):
        self._client.prepare(fanout=True).cast(ctxt, 'wake')
