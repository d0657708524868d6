"""Options of the physical:host plugin ([physical:host] section)."""

from oslo_config import cfg

GROUP = 'physical:host'

physical_host_group = cfg.OptGroup(
    GROUP, title='Host reservation plugin options',
    help='Used when [manager] plugins lists physical.host.plugin.')

BEST_FIT = 'best_fit'
SPREAD = 'spread'
RANDOM = 'random'

physical_host_opts = [
    cfg.StrOpt('az_prefix',
               default='climate_',
               help='Prefix of the availability zone given to the Nova aggregate of each '
                    'host reservation (the aggregate is named after the reservation '
                    'id; its zone is this prefix followed by the id). Must match '
                    'ClimateFilter\'s [climate] az_prefix in nova.conf.'),
    cfg.StrOpt('owner_key',
               default='climate:owner',
               help='Metadata key of a reservation aggregate whose value is the '
                    'project owning the reservation. Must match ClimateFilter\'s '
                    '[climate] owner_key in nova.conf.'),
    cfg.StrOpt('host_selection',
               default=BEST_FIT,
               choices=[(BEST_FIT, 'Prefer the hosts whose free time around the '
                                   'requested window is shortest, so that the longest '
                                   'free blocks stay whole for long or large '
                                   'requests; hosts with no allocation before or '
                                   'after the window come last.'),
                        (SPREAD, 'The opposite: prefer hosts with no allocation '
                                 'around the window, then the longest free blocks '
                                 '(close to Blazar\'s "never allocated first").'),
                        (RANDOM, 'Any free matching host, at random.')],
               help='How the plugin chooses among the hosts that match a request and '
                    'are free for its whole window. Ties are broken at random in '
                    'every mode, so that concurrent requests mostly pick different '
                    'hosts and seldom have to retry their claim.'),
    cfg.IntOpt('selection_sample',
               default=100,
               min=0,
               help='How many of the free matching hosts, drawn at random, the '
                    'best_fit and spread strategies compare (the reservation\'s own '
                    'hosts are always among them on update). Comparing costs two '
                    'index probes per host in the search, so a sample keeps the cost '
                    'of a request flat however many hosts are free; 0 compares them '
                    'all (exact).'),
    cfg.StrOpt('before_end',
               default='',
               choices=[('', 'Do nothing.'),
                        ('snapshot', 'Snapshot every server on the reserved hosts.')],
               help='What the before_end_lease event does for reservations whose '
                    'before_end is "default".'),
    cfg.StrOpt('image_prefix',
               default='reserved_',
               help='Prefix of the names of the snapshots taken before the end of a '
                    'reservation (followed by the server name).'),
    cfg.StrOpt('on_end',
               default='delete',
               choices=[('delete', 'Delete the servers still on the reserved hosts '
                                   '(of every project) before returning the hosts.'),
                        ('leave', 'Leave them; the hosts go back to the freepool '
                                  'with their servers.')],
               help='What happens at the end of a reservation to the servers still '
                    'running on its hosts.'),
    cfg.BoolOpt('enable_polling_monitor',
                default=False,
                help='Poll Nova\'s nova-compute services (one call per '
                     'polling_interval) and treat a host whose service is down, '
                     'disabled or forced down as failed, until it is up and enabled '
                     'again.'),
    cfg.IntOpt('polling_interval',
               default=60,
               min=1,
               help='Seconds between two polls of the nova-compute services.'),
    cfg.BoolOpt('enable_notification_monitor',
                default=False,
                help='Listen to Nova\'s versioned service.update notifications (on '
                     'the notification transport) for host failures and '
                     'recoveries.'),
    cfg.ListOpt('notification_topics',
                default=['notifications', 'versioned_notifications'],
                help='Topics the notification monitor listens to.'),
    cfg.StrOpt('notification_exchange',
               default='nova',
               help='Exchange Nova publishes its notifications to (Nova\'s '
                    'control_exchange).'),
    cfg.IntOpt('healing_interval',
               default=60,
               min=0,
               help='Minutes. Healing moves the allocations of failed hosts that '
                    'start within this horizon (and runs again every such period, '
                    'and whenever a host fails or recovers); 0 heals every future '
                    'allocation at once. Allocations overlapping a maintenance window '
                    'are moved whatever their start.'),
]


def register_opts(conf):
    conf.register_group(physical_host_group)
    conf.register_opts(physical_host_opts, group=physical_host_group)


def list_opts():
    return {physical_host_group: physical_host_opts}
