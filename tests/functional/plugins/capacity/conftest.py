"""Capacity reservations inside an in-process lease service, on each backend.

``capacity_env`` is the host plugin's test environment (``physical_host.conftest``)
with the ``virtual:instance`` and ``flavor:instance`` plugins added on the same memory
compute driver, helpers to create capacity leases, and :func:`violations`, the check
of the capacity invariant on what is stored.
"""

import datetime

import pytest
import sqlalchemy as sa

from climate import context as climate_context
from climate.compute import fixture as compute_fixture
from climate.compute import memory
from climate.db import capacity_search
from climate.db import models
from climate.manager import notifications
from climate.manager import service as service_mod
from climate.plugins.instance_capacity import plugin as capacity_plugin
from climate.plugins.virtual_instance import plugin as instance_plugin
from tests.functional.plugins.physical_host.conftest import HostsEnv
from tests.functional.plugins.physical_host.conftest import make_conf


class CapacityEnv(HostsEnv):
    """physical:host, virtual:instance and flavor:instance in one lease service."""

    def __init__(self, database, conf, driver):
        super().__init__(database, conf, driver)
        self.virtual = instance_plugin.VirtualInstancePlugin(conf, compute_driver=driver)
        self.flavor = capacity_plugin.FlavorInstancePlugin(conf, compute_driver=driver)
        notifier = notifications.LeaseNotifier(conf, transport=self.transport,
                                               driver='noop')
        self.service = service_mod.LeaseService(
            conf, {'physical:host': self.plugin, 'virtual:instance': self.virtual,
                   'flavor:instance': self.flavor}, notifier)
        self.ctx = self.user_context('u1', 'p1')

    def user_context(self, user_id, project_id):
        token = self.driver.issue_user_token(user_id, project_id)
        return climate_context.RequestContext(user_id=user_id, project_id=project_id,
                                              roles=['member'], auth_token=token)

    def capacity(self, start, end, ctx=None, name='capacity', **fields):
        """A lease of one capacity-mode virtual:instance reservation (blazarclient's
        defaults for the fields not given)."""
        reservation = {'resource_type': 'virtual:instance', 'vcpus': 1,
                       'memory_mb': 512, 'disk_gb': 10, 'amount': 1,
                       'affinity': 'None', 'resource_properties': ''}
        reservation.update(fields)
        return self.service.create_lease(
            ctx or self.ctx, {'name': name, 'start_date': _text(start),
                              'end_date': _text(end),
                              'reservations': [reservation]})

    def slices(self, lease):
        """``{host_id: instances}`` of the lease's first reservation."""
        table = models.CapacityAllocation.__table__
        with self.database.engine.connect() as conn:
            return dict(conn.execute(sa.select(
                table.c.compute_host_id, table.c.instances).where(
                table.c.reservation_id == lease['reservations'][0]['id'])).all())

    def violations(self, cleaning=datetime.timedelta(0)):
        return violations(self.database.engine, self.conf, cleaning)


def _text(value):
    return value.isoformat() if isinstance(value, datetime.datetime) else value


def violations(engine, conf, cleaning=datetime.timedelta(0)):
    """Every breach of the capacity invariant in the database: a host whose slices
    exceed its inventory x ratio at some instant, or a host held whole and sliced in
    overlapping windows (± cleaning)."""
    hosts_t = models.ComputeHost.__table__
    slices_t = models.CapacityAllocation.__table__
    whole_t = models.ComputeHostAllocation.__table__
    ratios = capacity_search.Ratios.from_conf(conf)
    with engine.connect() as conn:
        hosts = {row.id: ratios.capacity(row.vcpus, row.memory_mb, row.local_gb)
                 for row in conn.execute(sa.select(hosts_t))}
        slices = conn.execute(sa.select(slices_t)).all()
        whole = conn.execute(sa.select(whole_t)).all()
    found = []
    for host_id, capacity in hosts.items():
        mine = [s for s in slices if s.compute_host_id == host_id]
        for s in mine:
            for w in whole:
                if w.compute_host_id == host_id and \
                        w.start_date < s.end_date + cleaning and \
                        s.start_date < w.end_date + cleaning:
                    found.append(f'host {host_id}: slice {s.id} and whole-host '
                                 f'allocation {w.id} overlap')
        for point in {s.start_date for s in mine}:
            live = [s for s in mine if s.start_date <= point < s.end_date + cleaning]
            used = (sum(s.vcpus for s in live), sum(s.memory_mb for s in live),
                    sum(s.disk_gb for s in live))
            if used[0] > capacity.vcpus or used[1] > capacity.memory_mb or \
                    used[2] > capacity.disk_gb:
                found.append(f'host {host_id} at {point}: {used} > {capacity}')
    return found


@pytest.fixture
def capacity_conf():
    conf = make_conf()
    yield conf
    conf.reset()


@pytest.fixture
def capacity_env(migrated_database, capacity_conf):
    driver = memory.MemoryDriver(capacity_conf)
    with compute_fixture.ComputeFaults(driver) as faults:
        env = CapacityEnv(migrated_database, capacity_conf, driver)
        env.faults = faults
        yield env
        env.close()
