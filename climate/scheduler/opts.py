"""Options of ``ClimateFilter``, read from nova.conf's ``[climate]`` section.

The filter runs inside nova-scheduler, so it registers these few options into Nova's
configuration (the global ``cfg.CONF``) in a group of its own, and never Climate's own
options (``climate.conf``), which would collide with Nova's (``[DEFAULT] host`` …).
This module imports only oslo.config, so oslo-config-generator can document the
options (namespace ``climate.scheduler``) without Nova installed.
"""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'climate',
    title='Climate reservation filter',
    help='Options of climate.scheduler.filter.ClimateFilter, read by nova-scheduler. '
         'They must agree with the names Climate gives the Nova aggregates it '
         'manages.')

#: The names OpenStack Blazar gives its aggregates, recognised when
#: ``blazar_compatible`` is set.
BLAZAR_AZ_PREFIX = 'blazar_'
BLAZAR_OWNER_KEY = 'blazar:owner'

OPTS = [
    cfg.StrOpt('aggregate_freepool_name',
               default='freepool',
               help='Name of the aggregate holding the hosts enrolled in Climate that '
                    'no reservation holds right now (Climate\'s '
                    '[nova] aggregate_freepool_name). Requests without a reservation '
                    'never land on its hosts.'),
    cfg.StrOpt('az_prefix',
               default='climate_',
               help='Prefix of the availability zone of each host reservation\'s '
                    'aggregate (the aggregate is named after the reservation id, its '
                    'availability zone is this prefix followed by that id). Requests '
                    'without a reservation never land on the hosts of such '
                    'aggregates.'),
    cfg.StrOpt('owner_key',
               default='climate:owner',
               help='Aggregate metadata key whose value is the id of the project that '
                    'owns the reservation. Only that project may boot with the '
                    '"reservation" scheduler hint onto the aggregate\'s hosts.'),
    cfg.BoolOpt('blazar_compatible',
                default=False,
                help='Also treat the aggregates OpenStack Blazar creates as '
                     'reservation aggregates: availability zone prefix '
                     f'"{BLAZAR_AZ_PREFIX}" and owner metadata key '
                     f'"{BLAZAR_OWNER_KEY}". For operators moving from Blazar while '
                     'its reservations are still running.'),
]


def register_opts(conf):
    """Register the filter's options into ``conf`` (Nova's CONF in nova-scheduler)."""
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    """Return ``[(group, [opts])]`` for the ``climate.scheduler`` namespace."""
    return [(GROUP, list(OPTS))]
