"""``GET /v1/os-hosts/allocations``: every host with the reservations it is allocated
to (``?lease_id=`` / ``?reservation_id=`` narrow it), by host id in pages of
``limit`` hosts (at most ``[api] max_limit``) after host ``marker``. The one-host form,
``/v1/os-hosts/{host_id}/allocation``, lives on the host controller."""

import pecan

from climate.api.v1 import common


def filters(request):
    return {key: request.GET[key] for key in ('lease_id', 'reservation_id')
            if request.GET.get(key)}


class AllocationsController:

    @common.resource()
    def index(self):
        common.not_allowed()

    @index.when(**common.method('GET'))
    def list(self):
        common.authorize('climate:oshosts:get_allocations')
        limit = common.page_limit()
        found = common.call_host_plugin('list_allocations', limit=limit,
                                        marker=pecan.request.GET.get('marker'),
                                        **filters(pecan.request))
        return common.page_reply('allocations', found, limit,
                                 lambda allocation: allocation['resource_id'])
