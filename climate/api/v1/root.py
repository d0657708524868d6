"""The root of the Pecan application and of ``/v1``."""

import pecan

from climate.api import versions
from climate.api.v1 import availability
from climate.api.v1 import common
from climate.api.v1 import hosts
from climate.api.v1 import leases
from climate.api.v1 import usage


class V1Controller:
    """``/v1``: ``leases``, ``os-hosts``, ``availability`` and ``usage``."""

    leases = leases.LeasesController()
    availability = availability.AvailabilityController()
    usage = usage.UsageController()

    @common.resource()
    def index(self):
        common.not_allowed()

    @index.when(**common.method('GET'))
    def show(self):
        document = versions.document(pecan.request.application_url)['versions'][0]
        return common.reply({'version': document})


# A hyphen cannot be a Python attribute name.
pecan.route(V1Controller, 'os-hosts', hosts.HostsController())


class RootController:
    v1 = V1Controller()
