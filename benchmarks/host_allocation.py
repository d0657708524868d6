"""Lease-create latency for a 1-host reservation, and allocation-listing latency.

With 1,000 enrolled hosts and 0, 1,000 and 10,000 existing allocations (seeded
directly in SQL: one lease of one host each, spread over the next days so that a new
request overlaps many of them), it times ``LeaseService.create_lease`` in this process
— validation, the free-host search, the claim, the inserts, the Nova aggregate
(memory driver), the lease view — and the plugin's ``list_allocations`` (what
``GET /v1/os-hosts/allocations`` runs) at the largest count.
Target (issue 5): create p95 under 50 ms at 10,000 allocations on MariaDB.
"""

import argparse
import datetime
import os
import random
import statistics
import tempfile
import time
import uuid

from oslo_config import cfg
import oslo_messaging as messaging
import sqlalchemy as sa

from climate import context as climate_context
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

TARGET_ALLOCATIONS, TARGET_P95_MS = 10000, 50.0
# Each host holds one 1-hour allocation every 4 hours (at a random offset per host),
# so a 1-hour request overlaps the allocations of about half the hosts.
SLOT = datetime.timedelta(hours=4)
LENGTH = datetime.timedelta(hours=1)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def make_conf():
    conf = cfg.ConfigOpts()
    for module in climate_conf.ALL_MODULES:
        module.register_opts(conf)
    conf([], project='climate', default_config_files=[])
    conf.set_override('hypervisors', [], group='compute_memory')
    conf.set_override('minutes_before_end_lease', 0, group='manager')
    return conf


def seed(engine, hosts, allocations, base, rng):
    """``hosts`` hosts and ``allocations`` one-host leases, in bulk SQL."""
    now = timeutils.utcnow()
    H = models.ComputeHost.__table__
    with engine.begin() as conn:
        conn.execute(sa.insert(H), [
            {'id': i, 'hypervisor_id': str(uuid.uuid4()),
             'hypervisor_hostname': f'compute-{i}', 'service_name': f'compute-{i}',
             'vcpus': 32, 'memory_mb': 131072, 'local_gb': 1000, 'cpu_info': '{}',
             'hypervisor_type': 'QEMU', 'hypervisor_version': 8002000,
             'availability_zone': 'nova', 'reservable': True, 'generation': 0,
             'created_at': now} for i in range(1, hosts + 1)])
    per_host = allocations // hosts if allocations else 0
    leases, reservations, host_reservations, rows = [], [], [], []
    for host in range(1, hosts + 1):
        offset = datetime.timedelta(minutes=rng.randrange(0, 120))
        for slot in range(per_host):
            start = base + slot * SLOT + offset
            lease_id, reservation_id = str(uuid.uuid4()), str(uuid.uuid4())
            leases.append({'id': lease_id, 'name': 'seed', 'project_id': 'p0',
                           'start_date': start, 'end_date': start + LENGTH,
                           'status': 'PENDING', 'degraded': False, 'created_at': now})
            reservations.append({'id': reservation_id, 'lease_id': lease_id,
                                 'resource_type': 'physical:host',
                                 'status': 'pending', 'missing_resources': False,
                                 'resources_changed': False, 'created_at': now})
            host_reservations.append({'id': str(uuid.uuid4()),
                                      'reservation_id': reservation_id,
                                      'count_range': '1-1', 'before_end': 'default',
                                      'hypervisor_properties': '',
                                      'resource_properties': '', 'created_at': now})
            rows.append({'id': str(uuid.uuid4()), 'compute_host_id': host,
                         'reservation_id': reservation_id, 'start_date': start,
                         'end_date': start + LENGTH, 'created_at': now})
    with engine.begin() as conn:
        for model, values in ((models.Lease, leases), (models.Reservation, reservations),
                              (models.ComputeHostReservation, host_reservations),
                              (models.ComputeHostAllocation, rows)):
            for index in range(0, len(values), 2000):
                conn.execute(sa.insert(model.__table__), values[index:index + 2000])
    return per_host


def run(backend, hosts, allocations, samples, list_samples):
    tmp = tempfile.mkdtemp(prefix='climate-bench-')
    database = backends.ProvisionedDatabase(backend, tmp)
    migration.upgrade('head', engine=database.engine)
    manager = db_api.get_context_manager().make_new_manager()
    manager.configure(connection=database.url, sqlite_fk=True)
    restore = db_api.get_context_manager().patch_factory(manager)
    conf = make_conf()
    transport = messaging.get_notification_transport(cfg.CONF, url='fake:///')
    try:
        rng = random.Random(allocations)
        base = (timeutils.utcnow() + datetime.timedelta(days=2)).replace(
            minute=0, second=0, microsecond=0)
        per_host = seed(database.engine, hosts, allocations, base, rng)
        plugin = plugin_mod.PhysicalHostPlugin(conf,
                                               compute_driver=memory.MemoryDriver(conf))
        service = service_mod.LeaseService(
            conf, {'physical:host': plugin},
            notifications.LeaseNotifier(conf, transport=transport, driver='noop'))
        ctx = climate_context.RequestContext(user_id='u', project_id='p1')
        span = max(per_host, 1) * SLOT

        def body():
            start = base + datetime.timedelta(
                minutes=rng.randrange(0, int(span.total_seconds() // 60)))
            return {'name': 'bench', 'start_date': start.isoformat(),
                    'end_date': (start + LENGTH).isoformat(),
                    'reservations': [{'resource_type': 'physical:host', 'min': 1,
                                      'max': 1, 'hypervisor_properties': '',
                                      'resource_properties': ''}]}

        for _ in range(5):  # warm up connections and statement caches
            service.create_lease(ctx, body())
        create_ms = []
        for _ in range(samples):
            request = body()
            began = time.perf_counter()
            service.create_lease(ctx, request)
            create_ms.append((time.perf_counter() - began) * 1000)
        list_ms = []
        admin = climate_context.RequestContext(user_id='a', project_id='a',
                                               is_admin=True)
        listed = 0
        for _ in range(list_samples):
            began = time.perf_counter()
            result = plugin.list_allocations(admin)
            list_ms.append((time.perf_counter() - began) * 1000)
            listed = sum(len(entry['reservations']) for entry in result)
        return {'create_p50': statistics.median(create_ms),
                'create_p95': percentile(create_ms, 0.95),
                'list_p50': statistics.median(list_ms) if list_ms else None,
                'list_p95': percentile(list_ms, 0.95) if list_ms else None,
                'listed': listed}
    finally:
        transport.cleanup()
        restore()
        manager.writer.get_engine().dispose()
        database.drop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--backend', default='mysql', choices=backends.DATABASES)
    parser.add_argument('--hosts', type=int, default=1000)
    parser.add_argument('--allocations', default='0,1000,10000')
    parser.add_argument('--samples', type=int, default=200)
    parser.add_argument('--list-samples', type=int, default=20)
    args = parser.parse_args(argv)
    reason = backends.unavailable_reason(args.backend)
    if reason:
        parser.error(reason)
    counts = [int(c) for c in args.allocations.split(',')]
    print(f'backend={args.backend} hosts={args.hosts} samples={args.samples} '
          f'(1-host reservation, create_lease in process, memory compute driver)')
    print(f'{"allocations":>11} {"create p50 ms":>14} {"create p95 ms":>14} '
          f'{"list p50 ms":>12} {"list p95 ms":>12} {"load":>5}')
    for count in counts:
        listing = args.list_samples if count == max(counts) else 0
        r = run(args.backend, args.hosts, count, args.samples, listing)
        # The 1-minute load average: this machine is shared, and latency follows it.
        line = (f'{count:>11} {r["create_p50"]:>14.1f} {r["create_p95"]:>14.1f} '
                + (f'{r["list_p50"]:>12.1f} {r["list_p95"]:>12.1f}' if listing
                   else f'{"":>12} {"":>12}')
                + f' {os.getloadavg()[0]:>5.1f}')
        if count == TARGET_ALLOCATIONS:
            verdict = 'met' if r['create_p95'] < TARGET_P95_MS else 'NOT met'
            line += f'   target create p95 < {TARGET_P95_MS:.0f} ms: {verdict}'
        if listing:
            line += f'   (listing returned {r["listed"]} allocations)'
        print(line, flush=True)


if __name__ == '__main__':
    main()
