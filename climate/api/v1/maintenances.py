"""``/v1/os-hosts/{host_id}/maintenances``: windows when an admin takes a host out of
service (Climate's addition to Blazar's API).

``POST`` ``{"start_date", "end_date", "reason"?, "force"?}`` moves the host's
allocations overlapping the window to other matching hosts and stores the window
(201 ``{"maintenance": {..., "moved": [...], "degraded": [...]}}``); when some cannot
move it answers 409 naming their leases and changes nothing, unless ``force`` is true
(they stay, their leases degraded). ``GET`` lists the windows not ended;
``DELETE …/maintenances/{id}`` ends one (204).
"""

import pecan

from climate.api.v1 import common
from climate.api.v1 import host_schemas as schemas

call = common.call_host_plugin


class MaintenanceController:

    def __init__(self, host_id, maintenance_id):
        self.host_id = host_id
        self.maintenance_id = maintenance_id

    @common.resource()
    def index(self):
        common.not_allowed()

    @index.when(**common.method('DELETE'))
    def delete(self):
        common.authorize('climate:oshosts:maintenance')
        call('delete_maintenance', host_id=self.host_id,
             maintenance_id=self.maintenance_id)
        return common.no_content()


class MaintenancesController:

    def __init__(self, host_id):
        self.host_id = host_id

    @common.resource()
    def index(self):
        common.not_allowed()

    @index.when(**common.method('GET'))
    def list(self):
        common.authorize('climate:oshosts:maintenance')
        return common.reply({'maintenances': call('list_maintenances',
                                                  host_id=self.host_id)})

    @index.when(**common.method('POST'))
    def create(self):
        common.authorize('climate:oshosts:maintenance')
        values = common.body(schemas.MAINTENANCE)
        maintenance = call('create_maintenance', host_id=self.host_id, values=values)
        return common.reply({'maintenance': maintenance}, status=201)

    @pecan.expose()
    def _lookup(self, maintenance_id, *remainder):
        return MaintenanceController(self.host_id, maintenance_id), remainder
