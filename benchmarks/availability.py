"""Availability-search latency: the earliest windows of a 1-host, 4-hour request over
a 30-day range, with 1,000 hosts and 10,000 allocations.

The hosts and allocations are seeded in bulk SQL as ``benchmarks.host_allocation``
does: each host holds a 1-hour allocation every 4 hours from two days ahead, so no
4-hour window fits until the last of them and the search must read and sweep every
allocation (all inside the range: the worst case for this layout). The time is the
manager's whole answer (``climate.manager.availability.Availability.find``: parsing,
the requirement check, the SQL, the sweep, the view) in this process.
Target (issue 18): p95 under 100 ms on MariaDB.
"""

import datetime
import random
import statistics

from benchmarks import common
from climate import context as climate_context
from climate.compute import memory
from climate.manager import availability
from climate.plugins.physical_host import plugin as plugin_mod

TARGET_HOSTS, TARGET_ALLOCATIONS, TARGET_P95_MS = 1000, 10000, 100.0


def run(backend, hosts, allocations, samples, show_hosts):
    conf = common.make_conf()
    with common.migrated_database(backend) as database:
        base = common.seed_base()
        common.seed(database.engine, hosts, allocations, base, random.Random(allocations))
        plugin = plugin_mod.PhysicalHostPlugin(conf,
                                               compute_driver=memory.MemoryDriver(conf))
        search = availability.Availability(lambda resource_type: plugin)
        ctx = climate_context.RequestContext(user_id='u', project_id='p1')
        query = {'resource_type': 'physical:host', 'min': 1, 'max': 1,
                 'duration': 240, 'start_after': base.isoformat(),
                 'end_before': (base + datetime.timedelta(days=30)).isoformat(),
                 'limit': 10}
        answer = search.find(ctx, query, show_hosts=show_hosts)
        times = common.time_ms(lambda _: search.find(ctx, query, show_hosts=show_hosts),
                               lambda: None, samples, warmup=2)
        return {'p50': statistics.median(times),
                'p95': common.percentile(times, 0.95),
                'first': answer['windows'][0] if answer['windows'] else None}


def main(argv=None):
    parser = common.argument_parser(__doc__)
    parser.add_argument('--hosts', type=int, default=TARGET_HOSTS)
    parser.add_argument('--allocations', default='0,1000,10000')
    parser.add_argument('--samples', type=int, default=50)
    parser.add_argument('--show-hosts', action='store_true',
                        help='answer as to an admin (names the free hosts)')
    args = common.parse_args(parser, argv)
    print(f'backend={args.backend} hosts={args.hosts} samples={args.samples} '
          f'(1 host, 4 hours, 30-day range, limit 10, show_hosts={args.show_hosts})')
    print(f'{"allocations":>11} {"p50 ms":>8} {"p95 ms":>8} {"load":>5}  first window')
    for count in [int(c) for c in args.allocations.split(',')]:
        r = run(args.backend, args.hosts, count, args.samples, args.show_hosts)
        first = r['first']
        line = (f'{count:>11} {r["p50"]:>8.1f} {r["p95"]:>8.1f} '
                f'{common.load_average():>5.1f}  '
                + (f'{first["start_date"]} ({first["free"]} free)' if first else '-'))
        if count == TARGET_ALLOCATIONS and args.hosts == TARGET_HOSTS:
            line += (f'   target p95 < {TARGET_P95_MS:.0f} ms: '
                     f'{common.verdict(r["p95"] < TARGET_P95_MS)}')
        print(line, flush=True)


if __name__ == '__main__':
    main()
