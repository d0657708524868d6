"""Options of the REST API service ([DEFAULT] section, as in Blazar)."""

from oslo_config import cfg

api_opts = [
    cfg.HostAddressOpt('host',
                       default='0.0.0.0',
                       help='Address the climate-api server listens on.'),
    cfg.PortOpt('port',
                default=1234,
                help='Port the climate-api server listens on.'),
]


def register_opts(conf):
    conf.register_opts(api_opts)


def list_opts():
    return {'DEFAULT': api_opts}
