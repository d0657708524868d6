"""Lease-create latency and throughput through ``climate-api`` (issue 20).

One ``climate-api`` (noauth) and one ``climate-manager`` (``physical:host`` and
``virtual:instance`` plugins, the real Nova driver) on MariaDB + RabbitMQ; Nova and
Keystone are the HTTP double ``tests.fakes.nova_api.FakeNova`` in this process, every
request to it delayed by ``--nova-delay`` (1 ms: a Nova answering quickly). 100
enrolled hosts and 500 existing 1-host leases (spread over 50 windows) before measuring:

* ``--samples`` sequential creates of a 1-host ``physical:host`` lease, then of a
  capacity ``virtual:instance`` lease (2 instances of 2 vCPUs): p50/p95;
* ``--burst`` 1-host creates from 4 client threads, then as many capacity creates:
  creates/s;
* the transactions the manager ran again per create after losing a claim to a
  concurrent create (``climate.db.retry`` logging at DEBUG);
* the CPU time ``climate-api`` and ``climate-manager`` spend per create (from
  ``/proc/<pid>/stat``; the machine is shared, so wall times carry the load of other
  jobs while the CPU time is what the code costs), the same for RabbitMQ and
  MariaDB when they run here (they share the 2 cores) and for this process (the
  clients and the Nova double), and the load average.

Afterwards no host is held twice in any window, and no host's slices exceed its vCPUs
or share a window with a whole-host lease (checked in SQL). ``--profile DIR``
records the api and the manager with py-spy (``pip install py-spy`` in the venv) during
the sequential 1-host creates, as collapsed stacks (``DIR/api.txt``,
``DIR/manager.txt``; ``benchmarks.stacks`` sums them per function), the sequential
capacity creates (``DIR/*-capacity.txt``) and the 4-client 1-host burst
(``DIR/*-4-clients.txt``).
Targets (issue 20): p50 <= 10 ms, p95 <= 20 ms, >= 100 creates/s.
"""

import argparse
import concurrent.futures
import datetime
import os
from pathlib import Path
import subprocess
import tempfile
import time

from oslo_log import log
import sqlalchemy as sa

from benchmarks import common
from benchmarks.api_latency import Api
from benchmarks.common import percentile
from climate.db import models
from tests import backends
from tests.fakes import nova_api
from tests.functional.plugins.physical_host.test_concurrency import HostManagers

HOSTS, EXISTING, WINDOWS = 100, 500, 50
TARGET_P50_MS, TARGET_P95_MS, TARGET_RATE = 10.0, 20.0, 100.0
BASE = datetime.datetime(2031, 1, 1)


def cpu_seconds(pid):
    """User + system CPU seconds of process ``pid`` so far."""
    with open(f'/proc/{pid}/stat') as stat:
        fields = stat.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def window(index):
    start = BASE + datetime.timedelta(hours=2 * (index % WINDOWS))
    return (start.strftime('%Y-%m-%d %H:%M'),
            (start + datetime.timedelta(hours=1)).strftime('%Y-%m-%d %H:%M'))


#: A reservation of one host, whichever.
ONE_HOST = {'resource_type': 'physical:host', 'min': 1, 'max': 1,
            'hypervisor_properties': '', 'resource_properties': ''}


def host_body(index):
    start, end = window(index)
    return {'name': f'host-{index}', 'start_date': start, 'end_date': end,
            'reservations': [dict(ONE_HOST)]}


def capacity_body(index):
    start, end = window(index)
    return {'name': f'capacity-{index}', 'start_date': start, 'end_date': end,
            'reservations': [{'resource_type': 'virtual:instance', 'vcpus': 2,
                              'memory_mb': 4096, 'disk_gb': 20, 'amount': 2,
                              'affinity': 'None', 'resource_properties': ''}]}


_STATEMENTS = ('Com_select', 'Com_insert', 'Com_update', 'Com_delete')


def statements(engine):
    """MariaDB's count of SELECT, INSERT, UPDATE and DELETE statements, server-wide
    (None on another backend)."""
    if engine.dialect.name != 'mysql':
        return None
    with engine.connect() as conn:
        rows = conn.execute(sa.text('SHOW GLOBAL STATUS WHERE Variable_name IN '
                                    '(' + ', '.join(f"'{n}'" for n in _STATEMENTS) +
                                    ')')).all()
    return sum(int(value) for _name, value in rows)


class Cpu:
    """CPU seconds of the api and manager processes between ``start()`` and ``ms()``,
    the transactions the manager ran again after losing a claim (its log), and the
    SQL statements the database served (server-wide: the manager's own polls are in
    it, a few a second)."""

    def __init__(self, log_path, engine, *pids):
        self.log_path = log_path
        self.engine = engine
        self.pids = pids

    def _retries(self):
        with open(self.log_path, errors='replace') as lines:
            return sum('Claim conflict (attempt' in line for line in lines)

    def start(self):
        self.began = [cpu_seconds(pid) for pid in self.pids]
        self.retried = self._retries()
        self.statements = statements(self.engine)

    def ms(self, count):
        served = statements(self.engine)
        return [1000 * (cpu_seconds(pid) - before) / count
                for pid, before in zip(self.pids, self.began)] + [
            (self._retries() - self.retried) / count,
            None if served is None else (served - self.statements) / count]


def timed(api, bodies, threads):
    def one(body):
        status, data, elapsed = api.request('POST', '/v1/leases', body)
        if status != 201:
            raise RuntimeError(f'create answered {status}: {data[:300]!r}')
        return elapsed
    began = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        latencies = list(pool.map(one, bodies))
    return latencies, time.perf_counter() - began


def double_booked(engine):
    a = models.ComputeHostAllocation.__table__
    b = a.alias()
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(a).join(
            b, sa.and_(a.c.compute_host_id == b.c.compute_host_id, a.c.id < b.c.id,
                       a.c.start_date < b.c.end_date,
                       b.c.start_date < a.c.end_date))).scalar()


def overbooked(engine):
    """Slices (capacity allocations) that, with the slices overlapping their start,
    hold more vCPUs than their host has (the double's ratios are 1.0), or that overlap
    a whole-host allocation of their host."""
    s, t = models.CapacityAllocation.__table__, models.CapacityAllocation.__table__
    t = t.alias()
    h, a = models.ComputeHost.__table__, models.ComputeHostAllocation.__table__
    peak = (sa.select(sa.func.sum(t.c.vcpus))
            .where(t.c.compute_host_id == s.c.compute_host_id,
                   t.c.start_date <= s.c.start_date, t.c.end_date > s.c.start_date)
            .scalar_subquery())
    whole = (sa.select(a.c.id).where(a.c.compute_host_id == s.c.compute_host_id,
                                     a.c.start_date < s.c.end_date,
                                     a.c.end_date > s.c.start_date).exists())
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count(sa.distinct(s.c.compute_host_id)))
            .select_from(s.join(h, h.c.id == s.c.compute_host_id))
            .where(sa.or_(peak > h.c.vcpus, whole))).scalar()


def servers():
    """``(name, pid)`` of RabbitMQ and MariaDB when they run on this machine, and of
    this process (the clients and the Nova double)."""
    pids = []
    for name, process in (('rabbitmq', 'beam.smp'), ('mariadb', 'mariadbd')):
        found = subprocess.run(['pgrep', '-o', '-x', process], capture_output=True,
                               text=True).stdout.split()
        if found:
            pids.append((name, int(found[0])))
    return pids + [('this process', os.getpid())]


def load():
    return '/'.join(f'{v:.1f}' for v in os.getloadavg())


def line(name, latencies, cpu, servers, rate=None):
    p50, p95 = 1000 * percentile(latencies, 0.5), 1000 * percentile(latencies, 0.95)
    text = (f'{name:<34} n={len(latencies):<4} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  '
            f'CPU/create api {cpu[0]:5.1f} ms + manager {cpu[1]:5.1f} ms  '
            f'retries/create {cpu[-2]:4.2f}')
    if cpu[-1] is not None:
        text += f'  SQL statements/create {cpu[-1]:4.1f}'
    others = cpu[2:-2]
    if others:
        text += '  (others: ' + ', '.join(
            f'{name} {ms:.1f}' for (name, _pid), ms in zip(servers, others)) + ' ms)'
    if rate is None:
        verdict = 'met' if p50 <= TARGET_P50_MS and p95 <= TARGET_P95_MS else 'NOT met'
        text += (f'  [target p50 <= {TARGET_P50_MS:.0f} / p95 <= {TARGET_P95_MS:.0f} ms:'
                 f' {verdict}]')
    else:
        verdict = 'met' if rate >= TARGET_RATE else 'NOT met'
        text += f'  {rate:6.1f} creates/s [target >= {TARGET_RATE:.0f}: {verdict}]'
    print(f'{text}  load {load()}', flush=True)


def run(args):
    tmp = Path(tempfile.mkdtemp(prefix='climate-create-bench-'))
    database = backends.ProvisionedDatabase(args.backend, str(tmp))
    api = None
    with nova_api.FakeNova() as nova:
        if args.nova_delay:
            nova.inject(status=None, delay=args.nova_delay, times=None)
        for i in range(HOSTS):
            nova.add_hypervisor(f'compute-{i}', vcpus=32, memory_mb=131072,
                                local_gb=1000)
        group = HostManagers(database, backends.RABBIT_URL, tmp, nova)
        group.config.write_text(group.config.read_text().replace(
            'plugins = physical.host.plugin',
            'plugins = physical.host.plugin, virtual.instance.plugin').replace(
            '[DEFAULT]\n', '[DEFAULT]\ndefault_log_levels = ' + ', '.join(
                log.get_default_log_levels() + ['climate.db.retry=DEBUG']) + '\n'))
        try:
            group.start(1)
            api = Api([group.config], tmp)
            group.enroll(HOSTS)
            timed(api, [host_body(i) for i in range(EXISTING)], 4)
            others = servers()
            cpu = Cpu(group.processes[0].log_path, database.engine, api.process.pid,
                      group.processes[0].pid, *(pid for _name, pid in others))
            print(f'{HOSTS} hosts, {EXISTING} leases; Nova double delay '
                  f'{1000 * args.nova_delay:.1f} ms per request; {args.backend} + '
                  f'RabbitMQ; load average (1/5/15 min) {load()}')
            for name, make in (('1-host physical:host, 1 client', host_body),
                               ('capacity virtual:instance, 1 client',
                                capacity_body)):
                suffix = '' if make is host_body else '-capacity'
                running = common.profilers(
                    args.profile, {f'api{suffix}': api.process.pid,
                                   f'manager{suffix}': group.processes[0].pid},
                    gil=args.gil)
                cpu.start()
                latencies, _ = timed(api, [make(EXISTING + i)
                                           for i in range(args.samples)], 1)
                line(name, latencies, cpu.ms(args.samples), others)
                common.stop_profilers(running)
            running = common.profilers(
                args.profile, {'api-4-clients': api.process.pid,
                               'manager-4-clients': group.processes[0].pid},
                gil=args.gil)
            cpu.start()
            latencies, wall = timed(api, [host_body(i) for i in range(args.burst)], 4)
            line('1-host physical:host, 4 clients', latencies, cpu.ms(args.burst), others,
                 rate=args.burst / wall)
            common.stop_profilers(running)
            cpu.start()
            latencies, wall = timed(api, [capacity_body(args.samples + i)
                                          for i in range(args.burst)], 4)
            line('capacity virtual:instance, 4 clients', latencies,
                 cpu.ms(args.burst), others, rate=args.burst / wall)
            twice, over = double_booked(database.engine), overbooked(database.engine)
            print(f'hosts double-booked: {twice}; hosts whose slices exceed them or '
                  f'share a window with a whole-host lease: {over}')
            if twice or over:
                raise SystemExit('double booking')
        finally:
            if api is not None:
                api.stop()
            group.stop()
            database.drop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--samples', type=int, default=100)
    parser.add_argument('--burst', type=int, default=200)
    parser.add_argument('--nova-delay', type=float, default=0.001)
    parser.add_argument('--backend', default='mysql', choices=backends.DATABASES)
    parser.add_argument('--profile', metavar='DIR',
                        help='record the api and the manager with py-spy into DIR')
    parser.add_argument('--gil', action='store_true',
                        help='with --profile: sample only the thread holding the GIL '
                             '(where the CPU goes, not where threads wait)')
    args = parser.parse_args()
    for backend in (args.backend, 'rabbit'):
        reason = backends.unavailable_reason(backend)
        if reason:
            raise SystemExit(f'cannot run: {reason}')
    run(args)


if __name__ == '__main__':
    main()
