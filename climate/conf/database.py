"""Database options: oslo.db's [database] section with Climate's default connection."""

from oslo_config import cfg
from oslo_db import options as db_options

DEFAULT_CONNECTION = 'sqlite:///$state_path/climate.sqlite'
# A manager runs [manager] event_workers events and the RPC server's threads at once;
# connections beyond the pool are opened and closed per transaction, which costs far
# more than the transaction itself.
DEFAULT_MAX_POOL_SIZE = 32


def register_opts(conf):
    set_lib_defaults()
    conf.register_opts(db_options.database_opts, group='database')


def list_opts():
    # oslo.db lists its own options under the oslo.db namespace.
    return {}


def set_lib_defaults():
    # On the option objects themselves, so that oslo-config-generator shows it too.
    cfg.set_defaults(db_options.database_opts, connection=DEFAULT_CONNECTION,
                     max_pool_size=DEFAULT_MAX_POOL_SIZE)
