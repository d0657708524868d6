"""``/v1/availability``: when a reservation would be accepted, and what is busy when.

``GET /v1/availability`` takes the search in its query string (``resource_type``,
the reservation's own fields such as ``min``/``max``/``hypervisor_properties``/
``resource_properties``, ``duration`` in minutes, ``start_after``, ``end_before``,
``limit``) and answers the earliest windows; ``GET /v1/availability/busy`` (``start``,
``end``, ``host_id``, properties) the busy intervals of each matching host. The
manager reads and checks every value; ``climate:availability:get_hosts`` decides
whether the answer names hosts and every lease.
"""

import pecan

from climate.api.v1 import common

# Query keys that may repeat (``host_id=1&host_id=2``).
LISTS = ('host_id',)


def query(request):
    result = {}
    for key in request.GET.keys():
        if key in LISTS:
            result[key] = ','.join(request.GET.getall(key))
        else:
            result[key] = request.GET[key]
    return result


class BusyController:

    @common.resource()
    def index(self):
        common.not_allowed()

    @index.when(**common.method('GET'))
    def show(self):
        common.authorize('climate:availability:get')
        see_all = common.allowed('climate:availability:get_hosts')
        found = common.manager().list_busy(common.context(), query(pecan.request),
                                           see_all=see_all)
        return common.reply({'busy': found})


class AvailabilityController:

    busy = BusyController()

    @common.resource()
    def index(self):
        common.not_allowed()

    @index.when(**common.method('GET'))
    def search(self):
        common.authorize('climate:availability:get')
        show_hosts = common.allowed('climate:availability:get_hosts')
        found = common.manager().find_availability(
            common.context(), query(pecan.request), show_hosts=show_hosts)
        return common.reply({'availability': found})
