"""Database options: oslo.db's [database] section with Climate's defaults."""

from oslo_config import cfg
from oslo_db import options as db_options

DEFAULT_CONNECTION = 'sqlite:///$state_path/climate.sqlite'


def register_opts(conf):
    db_options.set_defaults(conf, connection=DEFAULT_CONNECTION)


def list_opts():
    # oslo.db lists its own options under the oslo.db namespace; only the
    # changed default is Climate's.
    return {}


def set_lib_defaults():
    db_options.set_defaults(cfg.CONF, connection=DEFAULT_CONNECTION)
