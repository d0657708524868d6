"""Latency of ``GET /v1/leases?limit=1000`` over 1,000 leases, and the memory of the
API and the manager around 16 concurrent full listings.

Starts a ``climate-manager`` (dummy plugin) on a fresh MariaDB database and RabbitMQ
and a ``climate-api`` (noauth) calling it over RPC, creates ``--leases`` leases
through the API, then:

* times ``--gets`` sequential ``GET /v1/leases?limit=1000`` and prints p50/p95, the
  target of issue 14 (0.1 s p50) and the ratio against Blazar's 0.49 s (measured on
  this machine at 1,050 leases);
* prints the CPU time api and manager spent per request (``/proc/PID/stat``), which
  other load on the machine does not inflate as it does wall times;
* reads the resident set size (RSS, ``/proc/PID/status``) of both processes, runs 16
  full listings at once (following ``next`` links to the end) twice, reads it right
  after each round and once more after a short rest, and says whether each process
  came back within 20% of where it started (a second round that does not grow
  further tells a plateau from a leak).

``--profile DIR`` records the api and the manager with py-spy during the sequential
requests, as collapsed stacks (``DIR/api.txt``, ``DIR/manager.txt``; sum them per
function with ``benchmarks.stacks``).
"""

import argparse
import concurrent.futures
import json
import os
import time
from urllib import parse

from benchmarks import common
from benchmarks.api_latency import running_api
from tests import backends

TARGET_P50 = 0.1
BLAZAR_P50 = 0.49


def rss_mb(pid):
    with open(f'/proc/{pid}/status') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f'no VmRSS for {pid}')


def cpu_seconds(pid):
    """User + system CPU time of a process (all its threads), from /proc."""
    with open(f'/proc/{pid}/stat') as stat:
        fields = stat.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def full_listing(api):
    """Every lease, following ``leases_links`` next links; (count, seconds)."""
    path, count, began = '/v1/leases', 0, time.perf_counter()
    while path:
        status, data, _ = api.request('GET', path)
        if status != 200:
            raise RuntimeError(f'GET {path} answered {status}: {data[:200]!r}')
        body = json.loads(data)
        count += len(body['leases'])
        path = None
        for link in body.get('leases_links', []):
            if link['rel'] == 'next':
                url = parse.urlsplit(link['href'])
                path = f'{url.path}?{url.query}'
    return count, time.perf_counter() - began


def create_leases(api, count, concurrency):
    body = {'start_date': '2030-01-01 10:00', 'end_date': '2030-01-02 10:00',
            'before_end_date': None, 'events': [],
            'reservations': [{'resource_type': 'dummy:resource'}]}

    def create(i):
        status, data, _ = api.request('POST', '/v1/leases',
                                      dict(body, name=f'listing-{i}'))
        if status != 201:
            raise RuntimeError(f'create answered {status}: {data[:200]!r}')

    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(create, range(count)))


def run(args):
    with running_api(args.backend, 'climate-listing-bench-') as (api, managers):
        began = time.perf_counter()
        create_leases(api, args.leases, 4)
        print(f'created {args.leases} leases in {time.perf_counter() - began:.1f} s')
        path = f'/v1/leases?limit={args.limit}'
        api.request('GET', path)  # warm up (connections, caches)
        processes = {'api': api.process.pid, 'manager': managers.processes[0].pid}
        print('RSS after the creates: ' + ', '.join(
            f'{name} {rss_mb(pid):.1f} MB' for name, pid in processes.items()))
        running = common.profilers(args.profile, processes)
        cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
        times, size = [], 0
        for _ in range(args.gets):
            status, data, elapsed = api.request('GET', path)
            if status != 200:
                raise RuntimeError(f'GET {path} answered {status}')
            times.append(elapsed)
            size = len(data)
        cpu = {name: (cpu_seconds(pid) - cpu_before[name]) / args.gets
               for name, pid in processes.items()}
        common.stop_profilers(running)
        p50, p95 = common.percentile(times, 0.5), common.percentile(times, 0.95)
        print(f'GET {path} over {args.leases} leases ({size} bytes), {args.gets} '
              f'sequential requests: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms')
        print(f'target p50 <= {TARGET_P50 * 1000:.0f} ms: '
              f'{common.verdict(p50 <= TARGET_P50)}; '
              f'Blazar {BLAZAR_P50 * 1000:.0f} ms is {BLAZAR_P50 / p50:.1f}x this p50')
        print(f'CPU per request (independent of other load on the machine): api '
              f'{cpu["api"] * 1000:.0f} ms, manager {cpu["manager"] * 1000:.0f} ms; '
              f'load average {common.load_average():.1f}')
        before = {name: rss_mb(pid) for name, pid in processes.items()}
        print('RSS after the sequential requests: ' + ', '.join(
            f'{name} {before[name]:.1f} MB' for name in processes))
        for round_ in (1, 2):
            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                results = list(pool.map(lambda _: full_listing(api), range(16)))
            during = {name: rss_mb(pid) for name, pid in processes.items()}
            wall = [seconds for _, seconds in results]
            print(f'round {round_}: 16 concurrent full listings ({results[0][0]} leases '
                  f'each): p50 {common.percentile(wall, 0.5):.2f} s, max {max(wall):.2f} s')
            time.sleep(args.rest)
            after = {name: rss_mb(pid) for name, pid in processes.items()}
            for name in processes:
                growth = after[name] / before[name] - 1
                print(f'  RSS {name:<8} before {before[name]:7.1f} MB  right after '
                      f'{during[name]:7.1f} MB  after {args.rest:.0f} s '
                      f'{after[name]:7.1f} MB ({growth:+.0%}; target within 20%: '
                      f'{common.verdict(growth <= 0.2)})')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--leases', type=int, default=1000)
    parser.add_argument('--limit', type=int, default=1000)
    parser.add_argument('--gets', type=int, default=30)
    parser.add_argument('--rest', type=float, default=2.0,
                        help='seconds to wait before the last RSS reading')
    parser.add_argument('--profile', metavar='DIR',
                        help='record the api and the manager with py-spy into DIR')
    parser.add_argument('--backend', default='mysql', choices=backends.DATABASES)
    args = parser.parse_args()
    common.exit_unless_available(args.backend, 'rabbit')
    print(f'climate-api + 1 climate-manager on {args.backend} + RabbitMQ')
    run(args)


if __name__ == '__main__':
    main()
