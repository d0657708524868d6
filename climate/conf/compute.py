"""Options choosing and tuning the compute driver ([compute] section)."""

from oslo_config import cfg

compute_group = cfg.OptGroup('compute', title='Compute driver options')

compute_opts = [
    cfg.StrOpt('driver',
               default='nova',
               choices=[('nova', 'Nova through python-novaclient, configured in the '
                                 '[nova] section.'),
                        ('memory', 'An in-process simulation of Nova with the '
                                   'hypervisors of [compute_memory]; its state is lost '
                                   'when the process stops. For the quickstart and '
                                   'tests only.')],
               help='Compute driver every call to Nova goes through (entry point in '
                    'the climate.compute.drivers namespace).'),
    cfg.FloatOpt('wait_timeout',
                 default=600.0,
                 min=0,
                 help='Default number of seconds to wait for a server or image to '
                      'reach a status (shelved, active, deleted) before giving up '
                      'with a retryable timeout.'),
    cfg.FloatOpt('poll_interval',
                 default=5.0,
                 min=0.01,
                 help='Seconds between two status checks while waiting for a server '
                      'or an image.'),
]


def register_opts(conf):
    conf.register_group(compute_group)
    conf.register_opts(compute_opts, group=compute_group)


def list_opts():
    return {compute_group: compute_opts}
