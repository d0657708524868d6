"""``OnlyHostHintFilter``: a test-only nova-scheduler filter (runs in nova-scheduler).

Loaded through ``[filter_scheduler] available_filters``/``enabled_filters`` and
``PYTHONPATH`` exactly as Climate's own filter is, it proves that extra filters really
take part in scheduling: a server with the hint ``osl_only_host=<host>`` may land only
on that host. Servers without the hint are not affected, so it is always enabled.
"""

from nova.scheduler import filters
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class OnlyHostHintFilter(filters.BaseHostFilter):
    """Pass only the host named by the ``osl_only_host`` scheduler hint, if given."""

    run_filter_once_per_request = True
    RUN_ON_REBUILD = False

    def host_passes(self, host_state, spec_obj):
        wanted = spec_obj.get_scheduler_hint('osl_only_host')
        if not wanted:
            return True
        passes = host_state.host == wanted
        LOG.info('OnlyHostHintFilter: host=%s wanted=%s -> %s',
                 host_state.host, wanted, passes)
        return passes
