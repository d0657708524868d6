"""``/v1/os-hosts``: the hosts Climate may reserve (list, enrol, show, update, remove),
with ``allocations`` and ``properties`` below it, and below each host its
``allocation`` (``PUT`` reallocates it elsewhere) and its ``maintenances``. The list
is by id, in pages of ``limit`` (at most ``[api] max_limit``) hosts after host
``marker``.

Every call goes through the manager to the ``physical:host`` plugin
(``call_plugin(ctxt, 'physical:host', METHOD, **kwargs)``). When no such plugin is
loaded these paths answer 404, as Blazar exposes them only with its host plugin.
"""

import pecan

from climate.api.v1 import allocations
from climate.api.v1 import common
from climate.api.v1 import host_schemas as schemas
from climate.api.v1 import maintenances
from climate.api.v1 import properties

call = common.call_host_plugin


class HostController:
    """One host: ``/v1/os-hosts/{host_id}``."""

    def __init__(self, host_id):
        self.host_id = host_id

    @common.resource()
    def index(self):
        common.not_allowed()

    @index.when(**common.method('GET'))
    def show(self):
        common.authorize('climate:oshosts:get')
        return common.reply({'host': call('get_host', host_id=self.host_id)})

    @index.when(**common.method('PUT'))
    def update(self):
        common.authorize('climate:oshosts:put')
        values = common.body(schemas.UPDATE)
        host = call('update_host', host_id=self.host_id, values=values)
        return common.reply({'host': host})

    @index.when(**common.method('DELETE'))
    def delete(self):
        common.authorize('climate:oshosts:delete')
        call('delete_host', host_id=self.host_id)
        return common.no_content()

    @common.resource()
    def allocation(self):
        common.not_allowed()

    @allocation.when(**common.method('GET'))
    def show_allocation(self):
        common.authorize('climate:oshosts:get_allocations')
        allocation = call('get_allocation', host_id=self.host_id,
                          **allocations.filters(pecan.request))
        return common.reply({'allocation': allocation})

    @allocation.when(**common.method('PUT'))
    def reallocate(self):
        # Chameleon's reallocation: {"lease_id"?, "reservation_id"?}; neither moves
        # every allocation of the host that has not ended. 409, nothing moved, when
        # one of them finds no other host.
        common.authorize('climate:oshosts:reallocate')
        values = common.body(schemas.REALLOCATE)
        allocation = call('reallocate', host_id=self.host_id,
                          lease_id=values.get('lease_id'),
                          reservation_id=values.get('reservation_id'))
        return common.reply({'allocation': allocation})

    @property
    def maintenances(self):
        # An attribute, not a ``_lookup``: Pecan's object dispatch finds it like any
        # sub-controller (and the OpenAPI test's route walker sees it), and any
        # other segment stays a plain 404.
        return maintenances.MaintenancesController(self.host_id)


class HostsController:
    """The collection: ``/v1/os-hosts``."""

    allocations = allocations.AllocationsController()
    properties = properties.PropertiesController()

    @common.resource()
    def index(self):
        common.not_allowed()

    @index.when(**common.method('GET'))
    def list(self):
        common.authorize('climate:oshosts:get')
        limit = common.page_limit()
        found = call('list_hosts', limit=limit, marker=pecan.request.GET.get('marker'))
        return common.page_reply('hosts', found, limit, lambda host: host['id'])

    @index.when(**common.method('POST'))
    def create(self):
        common.authorize('climate:oshosts:post')
        values = common.body(schemas.CREATE)
        return common.reply({'host': call('create_host', values=values)}, status=201)

    @pecan.expose()
    def _lookup(self, host_id, *remainder):
        return HostController(host_id), remainder
