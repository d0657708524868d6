"""Options shared by every plugin that allocates hosts ([DEFAULT] section).

The allocation ratios are those of capacity reservations (slices of hosts): as Nova's
options of the same names, a host offers ``inventory x ratio`` of each resource.
"""

from oslo_config import cfg

allocation_opts = [
    cfg.IntOpt('cleaning_time',
               default=0,
               min=0,
               help='Minutes kept free on a host before and after each of its '
                    'allocations (e.g. for cleaning or re-imaging between two '
                    'reservations). With 0, a reservation may start on a host at the '
                    'very minute the previous one ends.'),
    cfg.FloatOpt('cpu_allocation_ratio',
                 default=1.0,
                 min=0.0,
                 help='Virtual CPUs a host offers to capacity reservations per '
                      'physical CPU of its inventory (as Nova\'s option of that name; '
                      'set it to the value nova-compute uses).'),
    cfg.FloatOpt('ram_allocation_ratio',
                 default=1.0,
                 min=0.0,
                 help='Memory a host offers to capacity reservations per MB of its '
                      'inventory (as Nova\'s option of that name).'),
    cfg.FloatOpt('disk_allocation_ratio',
                 default=1.0,
                 min=0.0,
                 help='Disk a host offers to capacity reservations per GB of its '
                      'inventory (as Nova\'s option of that name).'),
]


def register_opts(conf):
    conf.register_opts(allocation_opts)


def list_opts():
    return {'DEFAULT': allocation_opts}
