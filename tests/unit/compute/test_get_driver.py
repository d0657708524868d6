"""``[compute] driver`` chooses the driver."""

import pytest

from climate import compute
from climate.compute import memory
from climate.compute import nova


def test_memory_driver(conf):
    conf.set_override('driver', 'memory', 'compute')
    assert isinstance(compute.get_driver(conf), memory.MemoryDriver)


def test_nova_driver_is_the_default(nova_conf):
    nova_conf.clear_override('driver', 'compute')
    assert isinstance(compute.get_driver(nova_conf), nova.NovaDriver)


def test_unknown_driver_is_refused_by_the_configuration(conf):
    with pytest.raises(ValueError):
        conf.set_override('driver', 'libvirt', 'compute')
