"""Where Climate keeps state on disk ([DEFAULT] state_path)."""

from oslo_config import cfg

path_opts = [
    cfg.StrOpt('state_path',
               default='/var/lib/climate',
               sample_default='/var/lib/climate',
               help='Directory where Climate keeps its state, such as the SQLite '
                    'database of the embedded quickstart.'),
]


def register_opts(conf):
    conf.register_opts(path_opts)


def list_opts():
    return {'DEFAULT': path_opts}
