"""The physical:host plugin inside an in-process lease service, on each backend.

``hosts_env`` gives a LeaseService whose only plugin is physical:host on the memory
compute driver (or, with ``nova_hosts_env``, on the Nova HTTP double), helpers to
enroll hosts and create leases, and SQL checks of the allocations.
"""

import datetime

from oslo_config import cfg
import oslo_messaging as messaging
import pytest
import sqlalchemy as sa

from climate import context as climate_context
from climate.common import timeutils
from climate.compute import fixture as compute_fixture
from climate.compute import memory
import climate.conf as climate_conf
from climate.db import models
from climate.manager import engine as engine_mod
from climate.manager import notifications
from climate.manager import service as service_mod
from climate.plugins.physical_host import plugin as plugin_mod
from tests import manager_processes

wait_for = manager_processes.wait_for
HOUR = datetime.timedelta(hours=1)


def make_conf(**overrides):
    conf = cfg.ConfigOpts()
    for module in climate_conf.ALL_MODULES:
        module.register_opts(conf)
    conf([], project='climate', default_config_files=[])
    conf.set_override('event_retry_interval', 0.2, group='manager')
    conf.set_override('max_poll_interval', 1, group='manager')
    conf.set_override('claim_timeout', 3, group='manager')
    conf.set_override('minutes_before_end_lease', 0, group='manager')
    conf.set_override('hypervisors', [], group='compute_memory')
    conf.set_override('poll_interval', 0.02, group='compute')
    conf.set_override('wait_timeout', 5, group='compute')
    for (group, name), value in overrides.items():
        conf.set_override(name, value, group=group)
    return conf


class HostsEnv:
    """A lease service with the host plugin, and helpers around it."""

    def __init__(self, database, conf, driver):
        self.database = database
        self.conf = conf
        self.driver = driver
        self.transport = messaging.get_notification_transport(cfg.CONF, url='fake:///')
        notifier = notifications.LeaseNotifier(conf, transport=self.transport,
                                               driver='noop')
        self.plugin = plugin_mod.PhysicalHostPlugin(conf, compute_driver=driver)
        self.service = service_mod.LeaseService(conf, {'physical:host': self.plugin},
                                                notifier)
        self.admin = climate_context.RequestContext(user_id='admin', project_id='adm',
                                                    is_admin=True, roles=['admin'])
        self.ctx = climate_context.RequestContext(user_id='u1', project_id='p1',
                                                  roles=['member'])
        self.engine = None

    def add_hypervisors(self, count, prefix='compute', **fields):
        names = [f'{prefix}-{i}' for i in range(count)]
        for name in names:
            self.driver.add_hypervisor(name, **fields)
        return names

    def enroll(self, name, **capabilities):
        return self.plugin.create_host(self.admin, dict(name=name, **capabilities))

    def enroll_many(self, count, prefix='compute', **capabilities):
        return [self.enroll(name, **capabilities)
                for name in self.add_hypervisors(count, prefix)]

    def create(self, start, end, ctx=None, name='lease', **reservation):
        reservation.setdefault('min', 1)
        reservation.setdefault('max', reservation['min'])
        reservation.setdefault('resource_type', 'physical:host')
        body = {'name': name, 'start_date': _text(start), 'end_date': _text(end),
                'reservations': [reservation]}
        return self.service.create_lease(ctx or self.ctx, body)

    def allocated_hosts(self, lease):
        """Host ids (ints) held by the lease's first reservation."""
        reservation_id = lease['reservations'][0]['id']
        table = models.ComputeHostAllocation.__table__
        with self.database.engine.connect() as conn:
            return sorted(conn.execute(sa.select(table.c.compute_host_id).where(
                table.c.reservation_id == reservation_id)).scalars())

    def overlapping_pairs(self, cleaning=datetime.timedelta(0)):
        return overlapping_pairs(self.database.engine, cleaning)

    def start_engine(self):
        self.engine = engine_mod.EventEngine(self.conf, self.service)
        self.service.set_waker(self.engine.wake)
        self.engine.start()
        return self.engine

    def close(self):
        if self.engine is not None:
            self.engine.stop()
        self.transport.cleanup()


def overlapping_pairs(engine, cleaning=datetime.timedelta(0)):
    """Pairs of allocations of one host whose windows (± cleaning) overlap, in SQL."""
    a = models.ComputeHostAllocation.__table__.alias('a')
    b = models.ComputeHostAllocation.__table__.alias('b')
    query = sa.select(a.c.compute_host_id, a.c.id, b.c.id).where(
        a.c.compute_host_id == b.c.compute_host_id, a.c.id < b.c.id,
        a.c.start_date < b.c.end_date, b.c.start_date < a.c.end_date)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        if cleaning:
            every = conn.execute(sa.select(a.c.compute_host_id, a.c.id, a.c.start_date,
                                           a.c.end_date)).all()
            rows = [(x.compute_host_id, x.id, y.id) for x in every for y in every
                    if x.compute_host_id == y.compute_host_id and x.id < y.id
                    and x.start_date < y.end_date + cleaning
                    and y.start_date < x.end_date + cleaning]
    return rows


def _text(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def future(hours=24 * 30):
    """A whole hour well in the future (leases there never start during a test)."""
    return (timeutils.utcnow() + datetime.timedelta(hours=hours)).replace(
        minute=0, second=0, microsecond=0)


@pytest.fixture
def host_conf():
    conf = make_conf()
    yield conf
    conf.reset()


@pytest.fixture
def hosts_env(migrated_database, host_conf):
    driver = memory.MemoryDriver(host_conf)
    with compute_fixture.ComputeFaults(driver) as faults:
        env = HostsEnv(migrated_database, host_conf, driver)
        env.faults = faults     # inject_failure, call_count… of the driver
        yield env
        env.close()


@pytest.fixture
def nova_hosts_env(migrated_database, nova_conf, fake_nova):
    for name, value in (('event_retry_interval', 0.2), ('max_poll_interval', 1),
                        ('claim_timeout', 3), ('minutes_before_end_lease', 0)):
        nova_conf.set_override(name, value, group='manager')
    from climate.compute import nova
    env = HostsEnv(migrated_database, nova_conf, nova.NovaDriver(nova_conf))
    env.fake_nova = fake_nova
    env.add_hypervisors = lambda count, prefix='compute', **fields: [
        (fake_nova.add_hypervisor(f'{prefix}-{i}', **fields), f'{prefix}-{i}')[1]
        for i in range(count)]
    yield env
    env.close()
