"""Climate's access to Nova: ``get_driver(conf)`` returns the ``[compute] driver``.

Drivers are entry points in the ``climate.compute.drivers`` namespace (``nova``,
``memory``) implementing ``climate.compute.base.ComputeDriver``. Build one driver per
process and share it: it is thread-safe, and the memory driver's simulated Nova lives
in that one object.

Modules, by service: ``nova`` (the Nova driver) composes ``glance`` (snapshot image
status) and ``trusts`` (Keystone trusts), all on the [nova] account of ``session``;
``memory`` is the in-process simulation (``memory.driver``, ``memory.trusts``);
``fixture`` is fault injection for tests of code calling a driver.
"""

from stevedore import driver as stevedore_driver

NAMESPACE = 'climate.compute.drivers'


def get_driver(conf):
    """A new compute driver of the kind ``[compute] driver`` names."""
    manager = stevedore_driver.DriverManager(
        NAMESPACE, conf.compute.driver, invoke_on_load=True, invoke_args=(conf,),
        on_load_failure_callback=_reraise)
    return manager.driver


def _reraise(manager, entrypoint, error):
    raise error
