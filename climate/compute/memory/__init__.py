"""The ``memory`` compute driver: Nova simulated in-process (quickstart, fast tests).

``driver`` holds the simulated Nova (``MemoryDriver``: hypervisors, aggregates,
servers, images) and ``trusts`` the simulated Keystone trusts and the view acting
through one. The entry point ``climate.compute.memory:MemoryDriver`` names the class
re-exported here.
"""

from climate.compute.memory.driver import DEFAULT_AZ  # noqa: F401
from climate.compute.memory.driver import MemoryDriver  # noqa: F401
from climate.compute.memory.driver import parse_hypervisors  # noqa: F401
