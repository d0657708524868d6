"""Usage policy inside an in-process lease service with the physical:host plugin
(the ``hosts_env`` of the host plugin's tests) or with the capacity plugins too (the
``capacity_env`` of the capacity tests), on each backend."""

from tests.functional.plugins.capacity.conftest import capacity_conf  # noqa: F401
from tests.functional.plugins.capacity.conftest import capacity_env  # noqa: F401
from tests.functional.plugins.physical_host.conftest import host_conf  # noqa: F401
from tests.functional.plugins.physical_host.conftest import hosts_env  # noqa: F401
