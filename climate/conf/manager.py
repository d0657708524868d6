"""Options of the lease manager ([manager] section)."""

from oslo_config import cfg

manager_group = cfg.OptGroup('manager', title='Lease manager options')

manager_opts = [
    cfg.StrOpt('rpc_topic',
               default='climate.manager',
               help='oslo.messaging topic the manager listens on and the API calls.'),
    cfg.IntOpt('minutes_before_end_lease',
               default=60,
               min=0,
               help='Minutes before the end of a lease at which its before_end_lease '
                    'event runs when the lease does not give a before_end_date. '
                    '0 creates no such event.'),
    cfg.IntOpt('claim_timeout',
               default=60,
               min=5,
               help='Seconds after which an event claimed by a manager that stopped '
                    'heart-beating may be taken over by another manager.'),
    cfg.IntOpt('max_poll_interval',
               default=30,
               min=1,
               help='Longest time in seconds the event engine sleeps before looking '
                    'for due events again, even when nothing woke it.'),
]


def register_opts(conf):
    conf.register_group(manager_group)
    conf.register_opts(manager_opts, group=manager_group)


def list_opts():
    return {manager_group: manager_opts}
