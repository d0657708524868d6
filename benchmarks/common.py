"""Pieces shared by the benchmarks: configuration, a migrated database, bulk seeding
of hosts and leases, timing loops, percentiles and the printed load average.

Nothing here measures anything by itself; each benchmark script decides what it times
and prints.
"""

import argparse
import contextlib
import datetime
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

from oslo_config import cfg
import oslo_messaging as messaging
import sqlalchemy as sa

from climate.common import timeutils
from climate.compute import memory
import climate.conf as climate_conf
from climate.db import api as db_api
from climate.db import migration
from climate.db import models
from climate.manager import notifications
from climate.manager import service as service_mod
from climate.plugins.physical_host import plugin as plugin_mod
from tests import backends

# Each host holds one 1-hour allocation every 4 hours (at a random offset per host),
# so a 1-hour request overlaps the allocations of about half the hosts.
SLOT = datetime.timedelta(hours=4)
LENGTH = datetime.timedelta(hours=1)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def load_average():
    """The 1-minute load average: this machine is shared, and latency follows it."""
    return os.getloadavg()[0]


def verdict(met):
    return 'met' if met else 'NOT met'


def exit_unless_available(*names):
    """Stop the script with the reason when a backend it needs is not running."""
    for name in names:
        reason = backends.unavailable_reason(name)
        if reason:
            sys.exit(f'cannot run: {reason}')


def make_conf():
    conf = cfg.ConfigOpts()
    for module in climate_conf.ALL_MODULES:
        module.register_opts(conf)
    conf([], project='climate', default_config_files=[])
    conf.set_override('hypervisors', [], group='compute_memory')
    conf.set_override('minutes_before_end_lease', 0, group='manager')
    return conf


@contextlib.contextmanager
def migrated_database(backend):
    """A fresh, migrated database that this process's DB API uses; dropped after."""
    database = backends.ProvisionedDatabase(backend, tempfile.mkdtemp(
        prefix='climate-bench-'))
    migration.upgrade('head', engine=database.engine)
    manager = db_api.get_context_manager().make_new_manager()
    manager.configure(connection=database.url, sqlite_fk=True)
    restore = db_api.get_context_manager().patch_factory(manager)
    try:
        yield database
    finally:
        restore()
        manager.writer.get_engine().dispose()
        database.drop()


@contextlib.contextmanager
def noop_notifier(conf):
    """A lease notifier that sends nothing (on an in-memory transport)."""
    transport = messaging.get_notification_transport(cfg.CONF, url='fake:///')
    try:
        yield notifications.LeaseNotifier(conf, transport=transport, driver='noop')
    finally:
        transport.cleanup()


def seed_base():
    """The hour, two days from now, from which seeded leases start."""
    return (timeutils.utcnow() + datetime.timedelta(days=2)).replace(
        minute=0, second=0, microsecond=0)


def _host_rows(host, reservation_id, start, now):
    request = {'id': str(uuid.uuid4()), 'reservation_id': reservation_id,
               'count_range': '1-1', 'before_end': 'default',
               'hypervisor_properties': '', 'resource_properties': '',
               'created_at': now}
    allocation = {'id': str(uuid.uuid4()), 'compute_host_id': host,
                  'reservation_id': reservation_id, 'start_date': start,
                  'end_date': start + LENGTH, 'created_at': now}
    return request, allocation


def _capacity_rows(host, reservation_id, start, now):
    request = {'id': str(uuid.uuid4()), 'reservation_id': reservation_id,
               'resource_type': 'virtual:instance', 'vcpus': 2, 'memory_mb': 4096,
               'disk_gb': 20, 'amount': 4, 'affinity': None, 'resource_properties': '',
               'created_at': now}
    allocation = {'id': str(uuid.uuid4()), 'compute_host_id': host,
                  'reservation_id': reservation_id, 'instances': 4, 'vcpus': 8,
                  'memory_mb': 16384, 'disk_gb': 80, 'start_date': start,
                  'end_date': start + LENGTH, 'created_at': now}
    return request, allocation


# resource type seeded -> (request model, allocation model, row builder)
_SEEDED = {
    'physical:host': (models.ComputeHostReservation, models.ComputeHostAllocation,
                      _host_rows),
    'virtual:instance': (models.CapacityReservation, models.CapacityAllocation,
                         _capacity_rows),
}


def seed(engine, hosts, allocations, base, rng, resource_type='physical:host'):
    """``hosts`` hosts and ``allocations`` one-host leases of ``resource_type``
    (a whole host, or 4 instances of 2 vCPUs), in bulk SQL; returns leases per host.
    """
    now = timeutils.utcnow()
    with engine.begin() as conn:
        conn.execute(sa.insert(models.ComputeHost.__table__), [
            {'id': i, 'hypervisor_id': str(uuid.uuid4()),
             'hypervisor_hostname': f'compute-{i}', 'service_name': f'compute-{i}',
             'vcpus': 32, 'memory_mb': 131072, 'local_gb': 1000, 'cpu_info': '{}',
             'hypervisor_type': 'QEMU', 'hypervisor_version': 8002000,
             'availability_zone': 'nova', 'reservable': True, 'generation': 0,
             # what the claim records for the allocations seeded below
             'longest_allocation': int(LENGTH.total_seconds()) if allocations else 0,
             'created_at': now} for i in range(1, hosts + 1)])
    request_model, allocation_model, rows_for = _SEEDED[resource_type]
    per_host = allocations // hosts if allocations else 0
    leases, reservations, requests, rows = [], [], [], []
    for host in range(1, hosts + 1):
        offset = datetime.timedelta(minutes=rng.randrange(0, 120))
        for slot in range(per_host):
            start = base + slot * SLOT + offset
            lease_id, reservation_id = str(uuid.uuid4()), str(uuid.uuid4())
            leases.append({'id': lease_id, 'name': 'seed', 'project_id': 'p0',
                           'start_date': start, 'end_date': start + LENGTH,
                           'status': 'PENDING', 'degraded': False, 'created_at': now})
            reservations.append({'id': reservation_id, 'lease_id': lease_id,
                                 'resource_type': resource_type,
                                 'status': 'pending', 'missing_resources': False,
                                 'resources_changed': False, 'created_at': now})
            request, allocation = rows_for(host, reservation_id, start, now)
            requests.append(request)
            rows.append(allocation)
    with engine.begin() as conn:
        for model, values in ((models.Lease, leases), (models.Reservation, reservations),
                              (request_model, requests), (allocation_model, rows)):
            for index in range(0, len(values), 2000):
                conn.execute(sa.insert(model.__table__), values[index:index + 2000])
    return per_host


def random_start(base, per_host, rng):
    """A start within the seeded span (at least one slot), at a random minute."""
    span = max(per_host, 1) * SLOT
    return base + datetime.timedelta(
        minutes=rng.randrange(0, int(span.total_seconds() // 60)))


def one_host_lease(start):
    """The body of a ``LENGTH``-long lease of one ``physical:host`` from ``start``."""
    return {'name': 'bench', 'start_date': start.isoformat(),
            'end_date': (start + LENGTH).isoformat(),
            'reservations': [{'resource_type': 'physical:host', 'min': 1, 'max': 1,
                              'hypervisor_properties': '', 'resource_properties': ''}]}


def host_lease_service(conf, notifier):
    """``(plugin, service)``: a lease service with the ``physical:host`` plugin alone,
    on the memory compute driver."""
    plugin = plugin_mod.PhysicalHostPlugin(conf, compute_driver=memory.MemoryDriver(conf))
    return plugin, service_mod.LeaseService(conf, {'physical:host': plugin}, notifier)


def time_ms(call, make_argument, samples, warmup=5):
    """Milliseconds of ``call(make_argument())`` ``samples`` times, after ``warmup``
    untimed calls (connections, statement caches); the argument is built untimed."""
    for _ in range(warmup):
        call(make_argument())
    took = []
    for _ in range(samples):
        argument = make_argument()
        began = time.perf_counter()
        call(argument)
        took.append((time.perf_counter() - began) * 1000)
    return took


class ServerReads:
    """How many rows and index entries MariaDB/MySQL reads for this process's
    statements while :attr:`counting`: the session's ``Handler_read_*`` and
    ``Handler_icp_attempts`` counters, read on each statement's own connection before
    and after it (minus what reading them costs). Unlike a latency, it does not move
    with the machine's load: it shows whether a statement's cost grows with the
    rows in the tables. Other backends: :attr:`available` is False.
    """

    _SHOW = ("SHOW SESSION STATUS WHERE Variable_name LIKE 'Handler_read%' "
             "OR Variable_name = 'Handler_icp_attempts'")

    def __init__(self, engine):
        self.available = engine.dialect.name in ('mysql', 'mariadb')
        self.counting = False
        self.total = 0
        if self.available:
            sa.event.listen(engine, 'before_cursor_execute', self._before)
            sa.event.listen(engine, 'after_cursor_execute', self._after)

    def _read(self, dbapi_connection):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(self._SHOW)
            return sum(int(value) for _, value in cursor.fetchall())
        finally:
            cursor.close()

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.counting:
            dbapi = conn.connection.dbapi_connection
            idle = self._read(dbapi)
            conn.info['reads_before'] = self._read(dbapi)
            conn.info['reads_overhead'] = conn.info['reads_before'] - idle

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.counting and 'reads_before' in conn.info:
            read = self._read(conn.connection.dbapi_connection)
            self.total += read - conn.info.pop('reads_before') - \
                conn.info.pop('reads_overhead')


def reads_per_call(engine, call, make_argument, count=50):
    """The mean :class:`ServerReads` of ``call(make_argument())`` over ``count`` calls
    (None when the backend cannot say)."""
    reads = ServerReads(engine)
    if not reads.available:
        return None
    for _ in range(count):
        argument = make_argument()
        reads.counting = True
        call(argument)
        reads.counting = False
    return reads.total / count


def argument_parser(doc):
    """A parser described by ``doc``'s first line, with ``--backend``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument('--backend', default='mysql', choices=backends.DATABASES)
    return parser


def parse_args(parser, argv):
    """Parsed options; a usage error when the chosen backend is not running."""
    args = parser.parse_args(argv)
    reason = backends.unavailable_reason(args.backend)
    if reason:
        parser.error(reason)
    return args


def profilers(directory, pids, gil=False):
    """py-spy recording each of ``pids`` (name -> pid) into ``directory``; with ``gil``,
    only the thread holding the GIL (where CPU goes, not where threads wait). The
    sampling rate is 200 a second, or ``$PY_SPY_RATE``."""
    if not directory:
        return []
    os.makedirs(directory, exist_ok=True)
    spy = os.path.join(os.path.dirname(sys.executable), 'py-spy')
    options = ['--format', 'raw', '--rate', os.environ.get('PY_SPY_RATE', '200'),
               '--nonblocking'] + (
        ['--gil'] if gil else [])
    return [subprocess.Popen([spy, 'record', '--pid', str(pid), *options, '--output',
                              os.path.join(directory, f'{name}.txt')],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, pid in pids.items()]


def stop_profilers(running):
    for process in running:
        process.send_signal(signal.SIGINT)
    for process in running:
        process.wait(timeout=60)
