"""Options of the lease manager ([manager] section)."""

from oslo_config import cfg

manager_group = cfg.OptGroup('manager', title='Lease manager options')

manager_opts = [
    cfg.StrOpt('rpc_topic',
               default='climate.manager',
               help='oslo.messaging topic the manager listens on and the API calls.'),
    cfg.ListOpt('plugins',
                default=[],
                help='Resource plugins to load, by entry-point name in the '
                         'climate.resource.plugins namespace (Blazar\'s names: '
                         'physical.host.plugin, virtual.instance.plugin, '
                         'flavor.instance.plugin).'),
    cfg.IntOpt('minutes_before_end_lease',
               default=60,
               min=0,
               help='Minutes before the end of a lease at which its before_end_lease '
                    'event runs when the lease does not give a before_end_date. '
                    '0 creates no such event.'),
    cfg.FloatOpt('liveness_interval',
                 default=1.0,
                 min=0.1,
                 help='Seconds between two heart-beats of a manager\'s liveness row '
                      '(the managers table), written by a thread that does nothing '
                      'else.'),
    cfg.FloatOpt('liveness_timeout',
                 default=3.0,
                 min=0.5,
                 help='Seconds after which a manager whose liveness row was not '
                      'heart-beaten is taken for dead: its claimed events are taken '
                      'over by another manager at once. Keep it at least twice '
                      'liveness_interval, and well above the clock skew between '
                      'manager hosts and the longest stall a live manager may suffer '
                      '(a database failover, say); a live manager silent for longer '
                      'has its running events started again elsewhere.'),
    cfg.IntOpt('claim_timeout',
               default=60,
               min=2,
               help='Seconds after which an event claimed by a manager that is alive '
                    'but no longer heart-beats that claim (it lost track of it) may be '
                    'taken over by another manager. Claims of a dead manager are '
                    'taken over after liveness_timeout.'),
    cfg.IntOpt('max_poll_interval',
               default=30,
               min=1,
               help='Longest time in seconds the event engine sleeps before looking '
                    'for due events again, even when nothing woke it.'),
    cfg.IntOpt('event_workers',
               default=16,
               min=1,
               help='How many events one manager runs in parallel.'),
    cfg.IntOpt('event_batch_size',
               default=8,
               min=1,
               help='Up to this many lease starts and before-end events claimed '
                    'together are run by one worker as a batch (when more are due than '
                    'workers are idle): their leases read, and the starting ones moved '
                    'to STARTING, in one transaction, each plugin called in turn, every '
                    'outcome recorded in one transaction. An event that fails or meets '
                    'anything unusual is run on its own, as with 1 (no batches).'),
    cfg.IntOpt('event_max_attempts',
               default=10,
               min=1,
               help='Attempts of an event that fails with a transient error (Nova '
                    'unreachable or answering 5xx, say) before it is set to ERROR. '
                    'With the default retry interval, 10 attempts ride out an outage '
                    'of about 13 minutes.'),
    cfg.FloatOpt('event_retry_interval',
                 default=2.0,
                 min=0.1,
                 help='Seconds before the first retry of a failed event; each further '
                      'retry waits twice as long, up to 300 seconds.'),
    cfg.IntOpt('stuck_lease_timeout',
               default=600,
               min=5,
               help='Seconds after which a lease left CREATING, UPDATING or DELETING '
                    'by a manager that died is recovered (creation rolled back, update '
                    'settled, deletion finished).'),
    cfg.FloatOpt('settle_wait',
                 default=10.0,
                 min=0,
                 help='Seconds a delete or update of a lease that is in the middle of '
                      'another change (starting, ending, another update) waits for it '
                      'to finish before answering 409 "try again". 0 answers at once.'),
    cfg.IntOpt('claim_retries',
               default=10,
               min=1,
               help='Times a lease create or update is retried against fresh data '
                    'when another request claimed the same capacity concurrently.'),
]


def register_opts(conf):
    conf.register_group(manager_group)
    conf.register_opts(manager_opts, group=manager_group)


def list_opts():
    return {manager_group: manager_opts}
