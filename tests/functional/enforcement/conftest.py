"""Usage policy inside an in-process lease service with the physical:host plugin
(the ``hosts_env`` of the host plugin's tests), on each backend."""

from tests.functional.plugins.physical_host.conftest import host_conf  # noqa: F401
from tests.functional.plugins.physical_host.conftest import hosts_env  # noqa: F401
