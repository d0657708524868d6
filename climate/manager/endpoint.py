"""The manager's RPC endpoint: version 1.5 of the API ``climate.manager.rpcapi`` calls
(1.1: ``create_lease`` takes an optional ``idempotency_key``; 1.2: ``list_leases_page``,
a page of leases already encoded as JSON text; 1.3: ``find_availability`` and
``list_busy``; 1.4: ``check_lease`` and ``get_usage``, usage policy; 1.5:
``list_leases_page`` takes ``compressed``, the page's text then travels compressed).

A Climate exception under 500 (404, 409, 400...) is the answer to a request, not a
failure of the manager: the endpoint declares it expected to oslo.messaging, whose RPC
server then logs it at debug level instead of as an ERROR with its traceback; the caller
still receives the original exception. 5xx and other exceptions stay errors.

A compute error that escapes a request (Nova unreachable while a host lease's aggregate
is made, say) reaches the API as a Climate exception: 503 when it is transient, 409
when Nova answered 409, else 500 with Nova's message.
"""

import functools

import oslo_messaging as messaging

from climate import exceptions
from climate.compute import exceptions as compute_exc
from climate.manager import availability


def _answers(method):
    """Marks ``method``'s client errors (Climate exceptions with a code under 500) as
    expected, as oslo.messaging's ``expected_exceptions`` does for classes."""
    @functools.wraps(method)
    def wrapper(self, ctxt, *args, **kwargs):
        try:
            return method(self, ctxt, *args, **kwargs)
        except exceptions.ClimateException as exc:
            if exc.code >= 500:
                raise
            # Takes the exception being handled as the one to send back.
            raise messaging.ExpectedException()
    return wrapper


def _request(method):
    """``method`` may call Nova: its compute errors become the API's answers."""
    @functools.wraps(method)
    def wrapper(self, ctxt, *args, **kwargs):
        try:
            return method(self, ctxt, *args, **kwargs)
        except compute_exc.ComputeError as error:
            raise compute_exc.api_error(error) from error
    return wrapper


class ManagerEndpoint:
    """What a manager serves: the lease service's requests, plugin calls, wake-ups.
    Its public methods are the RPC API; ``climate.manager.rpcapi.ManagerAPI`` has one
    client method for each."""

    target = messaging.Target(version='1.5')

    def __init__(self, service, engine, plugins):
        self.service = service
        self.engine = engine
        self.plugins = plugins
        self.availability = availability.Availability(self._plugin_for)

    def _plugin_for(self, resource_type):
        plugin = self.plugins.get(resource_type)
        if plugin is None:
            raise exceptions.UnsupportedResourceType(resource_type=resource_type)
        return plugin

    @_answers
    @_request
    def create_lease(self, ctxt, values, idempotency_key=None):
        return self.service.create_lease(ctxt, values, idempotency_key=idempotency_key)

    @_answers
    @_request
    def check_lease(self, ctxt, values):
        return self.service.check_lease(ctxt, values)

    @_answers
    def get_usage(self, ctxt, project_id, start, end):
        return self.service.get_usage(ctxt, project_id, start, end)

    @_answers
    def get_lease(self, ctxt, lease_id):
        return self.service.get_lease(ctxt, lease_id)

    @_answers
    def list_leases(self, ctxt, filters=None):
        return self.service.list_leases(ctxt, **(filters or {}))

    @_answers
    def list_leases_page(self, ctxt, filters=None, compressed=False):
        """(1.2) A page of leases as JSON text; (1.5) ``compressed``: packed by
        ``climate.rpc.pack`` (``leases_packed`` and ``size`` instead of ``leases``)."""
        return self.service.list_leases_page(ctxt, compressed=bool(compressed),
                                             **(filters or {}))

    @_answers
    @_request
    def update_lease(self, ctxt, lease_id, values):
        return self.service.update_lease(ctxt, lease_id, values)

    @_answers
    @_request
    def delete_lease(self, ctxt, lease_id):
        self.service.delete_lease(ctxt, lease_id)

    @_answers
    @_request
    def call_plugin(self, ctxt, resource_type, plugin_method=None, kwargs=None,
                    method=None):
        """Call a plugin method the plugin exposes over RPC (e.g. host enrollment).

        The client sends its name as ``plugin_method`` (an RPC argument cannot be
        called ``method``); ``method`` is accepted from in-process callers.
        """
        method = plugin_method or method
        plugin = self.plugins.get(resource_type)
        if plugin is None:
            raise exceptions.UnsupportedResourceType(resource_type=resource_type)
        if method not in plugin.rpc_methods:
            raise exceptions.InvalidInput(
                reason=f'{resource_type} has no method {method}')
        return getattr(plugin, method)(ctxt, **(kwargs or {}))

    @_answers
    def find_availability(self, ctxt, query, show_hosts=False):
        """(1.3) The earliest windows a request fits in now."""
        return self.availability.find(ctxt, query, show_hosts=show_hosts)

    @_answers
    def list_busy(self, ctxt, query, see_all=False):
        """(1.3) The busy intervals of hosts over a range."""
        return self.availability.busy(ctxt, query, see_all=see_all)

    def wake(self, ctxt):
        """Look for due events now (cast to every manager when leases change)."""
        self.engine.wake()
