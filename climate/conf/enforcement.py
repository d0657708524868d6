"""Options of usage policy ([enforcement] section).

The first options carry Blazar's names and meaning, so an ``[enforcement]`` section
written for Blazar keeps working; the others are Climate's own rules and quotas
(``climate.manager.enforcement``; operator guide: doc/source/operator/usage-policy.rst).
"""

from oslo_config import cfg

enforcement_group = cfg.OptGroup('enforcement', title='Usage policy options')

#: Names a filter may have in enabled_filters.
FILTERS = ('MaxLeaseDurationFilter', 'ExternalServiceFilter', 'ExtensionWindowFilter',
           'MaxConcurrentLeasesFilter', 'MaxLeadTimeFilter', 'QuotaFilter')

enforcement_opts = [
    cfg.ListOpt('enabled_filters',
                default=[],
                item_type=cfg.types.String(choices=FILTERS),
                help='Usage-policy filters that check every lease create and update, '
                     'in this order (the first refusal answers). Blazar\'s: '
                     'MaxLeaseDurationFilter, ExternalServiceFilter. Climate\'s: '
                     'ExtensionWindowFilter, MaxConcurrentLeasesFilter, '
                     'MaxLeadTimeFilter, QuotaFilter.'),
    # Blazar's MaxLeaseDurationFilter.
    cfg.IntOpt('max_lease_duration',
               default=-1,
               min=-1,
               help='MaxLeaseDurationFilter: longest lease, in seconds (-1: no limit).'),
    cfg.ListOpt('max_lease_duration_exempt_project_ids',
                default=[],
                help='MaxLeaseDurationFilter: projects whose leases may be longer.'),
    # Blazar's ExternalServiceFilter.
    cfg.StrOpt('external_service_base_endpoint',
               help='ExternalServiceFilter: base URL of the policy service; '
                    '/check-create, /check-update and /on-end are appended to it '
                    'for the endpoints not set below.'),
    cfg.StrOpt('external_service_check_create_endpoint',
               help='ExternalServiceFilter: URL POSTed before a lease is created.'),
    cfg.StrOpt('external_service_check_update_endpoint',
               help='ExternalServiceFilter: URL POSTed before a lease is changed.'),
    cfg.StrOpt('external_service_on_end_endpoint',
               help='ExternalServiceFilter: URL POSTed when a lease has ended '
                    '(a notification: its answer is only logged).'),
    cfg.StrOpt('external_service_token',
               default='',
               secret=True,
               help='ExternalServiceFilter: sent as X-Auth-Token when set.'),
    cfg.FloatOpt('external_service_timeout',
                 default=10.0,
                 min=0.1,
                 help='ExternalServiceFilter: seconds to wait for the service. A '
                      'check that times out refuses the lease (503).'),
    # Climate's own rules.
    cfg.IntOpt('extension_window',
               default=-1,
               min=-1,
               help='ExtensionWindowFilter: a lease may be prolonged only during the '
                    'last this many hours before its end (-1: any time).'),
    cfg.IntOpt('max_extension',
               default=-1,
               min=-1,
               help='ExtensionWindowFilter: hours a lease may be prolonged by in one '
                    'update (-1: no limit).'),
    cfg.IntOpt('max_concurrent_leases',
               default=-1,
               min=-1,
               help='MaxConcurrentLeasesFilter: most leases of one project whose '
                    'windows overlap the requested one, this lease included '
                    '(-1: no limit).'),
    cfg.IntOpt('max_lead_time',
               default=-1,
               min=-1,
               help='MaxLeadTimeFilter: how many hours ahead of now a lease may start '
                    '(-1: no limit).'),
    cfg.ListOpt('exempt_project_ids',
                default=[],
                help='Projects the Climate filters (ExtensionWindowFilter, '
                     'MaxConcurrentLeasesFilter, MaxLeadTimeFilter, QuotaFilter) '
                     'leave alone.'),
    # Quotas.
    cfg.StrOpt('quota_driver',
               default='config',
               choices=[('config', 'limits from quota_limits below (no Keystone)'),
                        ('unified_limits', 'Keystone unified limits through '
                                           'oslo.limit ([oslo_limit] section), read '
                                           'at each request')],
               help='QuotaFilter: where the limits come from.'),
    cfg.DictOpt('quota_limits',
                default={},
                help='QuotaFilter with quota_driver=config: limit per resource for '
                     'every project, e.g. hosts:4,host_hours:720,vcpus:64. Resources '
                     'held at any instant: hosts (physical:host), vcpus, memory_mb, '
                     'instances (capacity reservations of instances); per '
                     'usage_period: host_hours, vcpu_hours, memory_mb_hours, '
                     'instance_hours. A resource not listed is unlimited; -1 too.'),
    cfg.ListOpt('quota_resources',
                default=['hosts', 'host_hours'],
                help='QuotaFilter with quota_driver=unified_limits: the resources '
                     'whose limits are read from Keystone, named as in quota_limits '
                     '(register a limit for each: '
                     'oslo.limit counts a resource with no registered limit as 0).'),
    cfg.StrOpt('usage_period',
               default='month',
               choices=['day', 'week', 'month'],
               help='QuotaFilter: calendar period (UTC) over which the hours limits '
                    'count (a lease spanning two periods counts in each).'),
]


def register_opts(conf):
    conf.register_group(enforcement_group)
    conf.register_opts(enforcement_opts, group=enforcement_group)


def list_opts():
    return {enforcement_group: enforcement_opts}
