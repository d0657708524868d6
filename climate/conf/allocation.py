"""Options shared by every plugin that allocates hosts ([DEFAULT] section)."""

from oslo_config import cfg

allocation_opts = [
    cfg.IntOpt('cleaning_time',
               default=0,
               min=0,
               help='Minutes kept free on a host before and after each of its '
                    'allocations (e.g. for cleaning or re-imaging between two '
                    'reservations). With 0, a reservation may start on a host at the '
                    'very minute the previous one ends.'),
]


def register_opts(conf):
    conf.register_opts(allocation_opts)


def list_opts():
    return {'DEFAULT': allocation_opts}
