"""A ``compute`` fixture running each contract test on both drivers.

For ``nova`` the driver talks HTTP to ``tests.fakes.nova_api.FakeNova`` (the stand-in
for Nova until the integration tier runs against a real one); for ``memory`` it is the
in-process simulation. Both are seeded through the same helpers.
"""

import threading

import pytest

from climate.compute import memory
from tests.fakes import faults
from tests.fakes import fixtures


def at_once(call, count):
    """``(results, errors)`` of ``call()`` run by ``count`` threads at the same time."""
    results, errors = [], []

    def run():
        try:
            results.append(call())
        except Exception as error:  # noqa: BLE001 - the caller asserts on errors
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


class Compute:
    """A driver plus the world behind it."""

    def __init__(self, kind, driver, world, own_project):
        self.kind = kind
        self.driver = driver
        self.world = world    # MemoryDriver or FakeNova: add_hypervisor, add_server…
        self.own_project = own_project
        self.faults = None    # ComputeFaults or NovaFaults (tests.fakes.faults)

    def set_action_delay(self, seconds):
        self.world.action_delay = seconds

    def fail_next(self, method, retryable=True, times=1, after=False):
        self.faults.inject_failure(method, times=times, retryable=retryable,
                                   after=after)

    def user_context(self, user_id='user-b', project_id='project-b', roles=('member',)):
        return fixtures.user_context(self.world, user_id, project_id, roles)

    def image_owner(self, image_id):
        return self.world.image_owner(image_id)

    def trust_ids(self):
        """Ids of the trusts that exist."""
        return self.world.trust_ids()

    def units(self, node, resource_class):
        """``(total, reserved)`` of the class ``node`` offers in Placement, or None."""
        if self.kind == 'memory':
            found = self.world.inventory(node).get(resource_class)
        else:
            found = (self.world.placement.inventories_of(
                f'climate:{resource_class}@{node}') or {}).get(resource_class)
        return None if found is None else (found['total'], found['reserved'])

    def resource_classes(self):
        if self.kind == 'memory':
            return self.world.resource_classes()
        return set(self.world.placement.classes)


@pytest.fixture(params=['memory', 'nova'])
def compute(request, conf):
    conf.set_override('hypervisors', [], 'compute_memory')
    conf.set_override('poll_interval', 0.02, 'compute')
    conf.set_override('wait_timeout', 5, 'compute')
    if request.param == 'memory':
        driver = memory.MemoryDriver(conf)
        result = Compute('memory', driver, driver, driver.project_id)
    else:
        fake = request.getfixturevalue('fake_nova')
        result = Compute('nova', request.getfixturevalue('nova_driver'), fake,
                         fake.project_id)
    result.world.add_hypervisor('compute-1', vcpus=16, memory_mb=32768, local_gb=400)
    result.world.add_hypervisor('compute-2')
    with faults.injector(result.kind, result.driver, result.world) as injector:
        result.faults = injector
        yield result
