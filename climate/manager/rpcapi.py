"""The manager's API as its callers (the REST API, other managers) see it: one client,
:class:`ManagerAPI`, with each method of the manager's RPC endpoint written once.

A ``ManagerAPI`` reaches the manager over oslo.messaging, or, when it is given the
endpoint of a manager living in the same process (``climate-all-in-one``), calls it
directly with what crossing RPC would do to the call (:class:`LocalCaller`): the context
travels as its dict, arguments and results are JSON round-tripped, and an exception
comes back as oslo.messaging rebuilds it — the same class and ``message`` for the
modules in ``climate.rpc.ALLOWED_EXMODS`` (so callers map them to HTTP statuses),
``oslo_messaging.RemoteError`` otherwise. No transport is involved on that path: the
in-process ``fake://`` one costs ~50 ms a call and needs the global ``cfg.CONF``.
"""

import sys

from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_messaging._drivers import common as rpc_common
from oslo_serialization import jsonutils

from climate import context as climate_context
from climate import rpc

LOG = logging.getLogger(__name__)


def _json_round_trip(value):
    return jsonutils.loads(jsonutils.dumps(value))


class LocalCaller:
    """The ``call``/``cast``/``prepare`` of an RPC client, served by ``endpoint`` (an
    object with the methods of ``climate.manager.endpoint.ManagerEndpoint``) in this
    process."""

    def __init__(self, endpoint):
        self._endpoint = endpoint
        self._serializer = climate_context.ContextSerializer()

    def prepare(self, **_options):
        # Fan-out, version and timeout mean nothing for the one endpoint in reach.
        return self

    def call(self, ctxt, method, **kwargs):
        ctxt = self._serializer.deserialize_context(
            _json_round_trip(self._serializer.serialize_context(ctxt)))
        kwargs = _json_round_trip(kwargs)
        try:
            result = getattr(self._endpoint, method)(ctxt, **kwargs)
        except messaging.ExpectedException as expected:
            # The endpoint's mark for an answer (4xx) rather than a failure; the
            # caller sees what it wraps, as from an RPC server.
            failure = expected.exc_info
        except Exception:
            failure = sys.exc_info()
        else:
            return _json_round_trip(result)
        serialized = rpc_common.serialize_remote_exception(failure)
        del failure
        raise rpc_common.deserialize_remote_exception(
            serialized, rpc.ALLOWED_EXMODS) from None

    def cast(self, ctxt, method, **kwargs):
        """As an RPC cast: nothing returned, and a failure is the server's to log."""
        try:
            self.call(ctxt, method, **kwargs)
        except Exception:
            LOG.exception('Local cast of %s failed', method)


class ManagerAPI:
    """Client of the manager's RPC API, version :attr:`VERSION` (1.1 added
    ``create_lease``'s ``idempotency_key``, 1.2 ``list_leases_page``, 1.3
    ``find_availability`` and ``list_busy``, 1.4 ``check_lease`` and ``get_usage``,
    1.5 ``list_leases_page``'s ``compressed``; a call needing them asks for that
    version).

    ``local`` is the endpoint of a manager in this process: calls go to it directly
    (and :meth:`wake` wakes that manager's engine only). Without it, calls go over
    ``transport`` (default: ``[DEFAULT] transport_url``) to topic ``[manager]
    rpc_topic``, waiting ``timeout`` seconds at most (default: oslo.messaging's).
    """

    VERSION = '1.0'

    def __init__(self, conf=cfg.CONF, transport=None, timeout=None, local=None):
        self._local = None if local is None else LocalCaller(local)
        self._client = None
        if self._local is None:
            target = messaging.Target(topic=conf.manager.rpc_topic,
                                      version=self.VERSION)
            self._client = rpc.get_client(
                target, conf, transport=transport,
                serializer=climate_context.ContextSerializer(), timeout=timeout)

    def _prepare(self, fanout=False, version=None):
        """Where this call goes: the manager in this process if there is one;
        ``version``, the least version of the API the manager must serve."""
        if self._local is not None:
            return self._local
        options = {}
        if fanout:
            options['fanout'] = True
        if version:
            options['version'] = version
        return self._client.prepare(**options) if options else self._client

    def create_lease(self, ctxt, values, idempotency_key=None):
        """``idempotency_key`` (the ``Idempotency-Key`` header) is sent only when
        given, so that a call without one works with any 1.x manager."""
        if idempotency_key is None:
            return self._prepare().call(ctxt, 'create_lease', values=values)
        return self._prepare(version='1.1').call(ctxt, 'create_lease', values=values,
                                                 idempotency_key=idempotency_key)

    def check_lease(self, ctxt, values):
        """Whether ``create_lease(values)`` would be accepted (creates nothing)."""
        return self._prepare(version='1.4').call(ctxt, 'check_lease', values=values)

    def get_usage(self, ctxt, project_id, start, end):
        return self._prepare(version='1.4').call(ctxt, 'get_usage', project_id=project_id,
                                                 start=start, end=end)

    def get_lease(self, ctxt, lease_id):
        return self._prepare().call(ctxt, 'get_lease', lease_id=lease_id)

    def list_leases(self, ctxt, filters=None):
        return self._prepare().call(ctxt, 'list_leases', filters=filters or {})

    def list_leases_page(self, ctxt, filters=None):
        """What the REST API answers, encoded once by the manager (a page of 1,000
        leases is ~1.5 MB; decoding and encoding it again in the API cost more than
        the rest of the request): ``{"count": n, "last_id": id or None}`` with either
        ``"leases_packed"`` (the JSON text of the list, packed by
        ``climate.rpc.pack``) and ``"size"`` (its length in bytes), or, from a
        manager older than 1.5 (during an upgrade, asked again plainly),
        ``"leases"``, the text itself."""
        filters = filters or {}
        try:
            return self._prepare(version='1.5').call(
                ctxt, 'list_leases_page', filters=filters, compressed=True)
        except (messaging.RemoteError, messaging.UnsupportedVersion) as error:
            # Over a broker the refusal arrives as a RemoteError naming its class;
            # the in-process fake transport hands over the exception itself.
            if getattr(error, 'exc_type', 'UnsupportedVersion') != 'UnsupportedVersion':
                raise
            return self._prepare(version='1.2').call(ctxt, 'list_leases_page',
                                                     filters=filters)

    def update_lease(self, ctxt, lease_id, values):
        return self._prepare().call(ctxt, 'update_lease', lease_id=lease_id,
                                    values=values)

    def delete_lease(self, ctxt, lease_id):
        return self._prepare().call(ctxt, 'delete_lease', lease_id=lease_id)

    def call_plugin(self, ctxt, resource_type, method, **kwargs):
        # On the wire the plugin's method is ``plugin_method``: RPCClient.call takes
        # the RPC method's name as its own ``method`` argument.
        return self._prepare().call(ctxt, 'call_plugin', resource_type=resource_type,
                                    plugin_method=method, kwargs=kwargs)

    def find_availability(self, ctxt, query, show_hosts=False):
        return self._prepare(version='1.3').call(ctxt, 'find_availability',
                                                 query=query, show_hosts=show_hosts)

    def list_busy(self, ctxt, query, see_all=False):
        return self._prepare(version='1.3').call(ctxt, 'list_busy', query=query,
                                                 see_all=see_all)

    def wake(self, ctxt):
        """Have managers look for due events now: every manager on the topic, or
        the one in this process."""
        self._prepare(fanout=True).cast(ctxt, 'wake')
