"""Climate's configuration options.

Every option Climate reads is declared in one module of this package, grouped by the
section it lives in, and registered on the global ``cfg.CONF`` when this package is
imported. ``climate.opts`` lists the same options for oslo-config-generator.
"""

from oslo_config import cfg

from climate.conf import allocation
from climate.conf import api
from climate.conf import compute
from climate.conf import compute_memory
from climate.conf import database
from climate.conf import dummy_plugin
from climate.conf import enforcement
from climate.conf import manager
from climate.conf import notifications
from climate.conf import nova
from climate.conf import paths
from climate.conf import physical_host
from climate.conf import virtual_instance

CONF = cfg.CONF

ALL_MODULES = (paths, api, manager, notifications, database, compute, compute_memory,
               nova, allocation, physical_host, virtual_instance, dummy_plugin,
               enforcement)

for _module in ALL_MODULES:
    _module.register_opts(CONF)
