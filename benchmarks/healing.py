"""Time from host failures to every affected lease healed.

1,000 enrolled hosts and 10,000 one-host allocations (seeded in SQL as
``host_allocation.py`` does: each host holds a 1-hour allocation every 4 hours at a
random offset), then ``--failed`` hosts' nova-compute services go down in the memory
compute driver. It times what a manager does: one poll of the compute services
(``check_hosts``, one call), then ``heal`` with ``healing_interval = 0`` (every future
allocation), until no allocation is left on a failed host except those that could not
move (reported as degraded). With ``--managers 2`` two plugins (two managers' worth)
heal at once over the same database.
Target (ours; the issue sets none): all affected leases healed within one
``polling_interval`` (60 s) for 10 failed hosts on MariaDB.
"""

import concurrent.futures
import random
import time

import sqlalchemy as sa

from benchmarks import common
from climate import context as climate_context
from climate.compute import memory
from climate.db import models
from climate.plugins.physical_host import plugin as plugin_mod

TARGET_SECONDS = 60.0


def run(backend, hosts, allocations, failed, managers):
    conf = common.make_conf()
    conf.set_override('healing_interval', 0, group='physical:host')
    with common.migrated_database(backend) as database:
        rng = random.Random(allocations)
        common.seed(database.engine, hosts, allocations, common.seed_base(), rng)
        driver = memory.MemoryDriver(conf)
        for i in range(1, hosts + 1):
            driver.add_hypervisor(f'compute-{i}')
        plugins = [plugin_mod.PhysicalHostPlugin(conf, compute_driver=driver)
                   for _ in range(managers)]
        admin = climate_context.RequestContext(user_id='a', project_id='a',
                                               is_admin=True)
        failing = rng.sample(range(1, hosts + 1), failed)
        A = models.ComputeHostAllocation.__table__
        with database.engine.connect() as conn:
            affected = conn.execute(sa.select(sa.func.count()).select_from(A).where(
                A.c.compute_host_id.in_(failing))).scalar()
        for host in failing:
            driver.set_service(f'compute-{host}', state='down')
        began = time.perf_counter()
        marked = plugins[0].check_hosts(admin)[0]
        polled = time.perf_counter() - began
        with concurrent.futures.ThreadPoolExecutor(managers) as pool:
            results = list(pool.map(lambda p: p.heal(admin), plugins))
        healed = time.perf_counter() - began
        outcomes = [o for r in results for o in r]
        with database.engine.connect() as conn:
            left = conn.execute(sa.select(sa.func.count()).select_from(A).where(
                A.c.compute_host_id.in_(failing))).scalar()
        return {'affected': affected, 'marked': len(marked), 'polled': polled,
                'healed': healed,
                'moved': sum(o.action == 'replaced' for o in outcomes),
                'degraded': sum(o.action == 'degraded' for o in outcomes),
                'left': left}


def main(argv=None):
    parser = common.argument_parser(__doc__)
    parser.add_argument('--hosts', type=int, default=1000)
    parser.add_argument('--allocations', type=int, default=10000)
    parser.add_argument('--failed', default='1,10')
    parser.add_argument('--managers', type=int, default=1)
    args = common.parse_args(parser, argv)
    print(f'backend={args.backend} hosts={args.hosts} allocations={args.allocations} '
          f'managers={args.managers} (healing_interval=0, memory compute driver)')
    print(f'{"failed":>6} {"affected":>8} {"moved":>6} {"degraded":>8} {"left":>5} '
          f'{"poll s":>7} {"healed s":>9} {"ms/alloc":>9} {"load":>5}')
    for failed in [int(f) for f in args.failed.split(',')]:
        r = run(args.backend, args.hosts, args.allocations, failed, args.managers)
        per = r['healed'] * 1000 / max(r['affected'], 1)
        line = (f'{failed:>6} {r["affected"]:>8} {r["moved"]:>6} {r["degraded"]:>8} '
                f'{r["left"]:>5} {r["polled"]:>7.3f} {r["healed"]:>9.2f} {per:>9.1f} '
                f'{common.load_average():>5.1f}')
        if failed == 10:
            line += (f'   target < {TARGET_SECONDS:.0f} s: '
                     f'{common.verdict(r["healed"] < TARGET_SECONDS)}')
        print(line, flush=True)


if __name__ == '__main__':
    main()
