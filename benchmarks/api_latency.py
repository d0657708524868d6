"""Requests per second and p50/p99 latency of the REST API on MariaDB + RabbitMQ.

Starts a ``climate-manager`` process (dummy plugin) on a fresh MariaDB database and
RabbitMQ, and a ``climate-api`` process (noauth) calling it over RPC. Measures
``POST /v1/leases`` while creating ``--leases`` leases (one dummy reservation each),
then ``GET /v1/leases`` listing all of them, each from ``--concurrency`` client threads
opening a connection per request (the threaded server speaks HTTP/1.0).
"""

import argparse
import concurrent.futures
import contextlib
import http.client
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import time

from benchmarks import common
from tests import backends
from tests.functional.api.all_in_one import free_port
from tests.manager_processes import Managers
from tests.manager_processes import wait_for


class Api:
    def __init__(self, config_files, tmp):
        self.port = free_port()
        extra = tmp / 'api.conf'
        extra.write_text(f'[DEFAULT]\nauth_strategy = noauth\nport = {self.port}\n')
        args = []
        for path in [*config_files, extra]:
            args += ['--config-file', str(path)]
        self.log = open(tmp / 'api.log', 'w')
        bindir = os.path.dirname(sys.executable)
        self.process = subprocess.Popen([os.path.join(bindir, 'climate-api'), *args],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self._up, timeout=60)

    def _up(self):
        try:
            return self.request('GET', '/')[0] == 300
        except OSError:
            return False

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=120)
        headers = {'Content-Type': 'application/json'} if body is not None else {}
        began = time.perf_counter()
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        elapsed = time.perf_counter() - began
        conn.close()
        return resp.status, data, elapsed

    def stop(self):
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def measure(api, requests, concurrency, expect):
    """Run ``requests`` (method, path, body) from ``concurrency`` threads."""
    began = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda r: api.request(*r), requests))
    wall = time.perf_counter() - began
    bad = [status for status, _, _ in results if status != expect]
    if bad:
        raise RuntimeError(f'{len(bad)} requests failed, e.g. status {bad[0]}')
    latencies = [elapsed for _, _, elapsed in results]
    return {'requests': len(results), 'rps': len(results) / wall,
            'p50_ms': 1000 * common.percentile(latencies, 0.5),
            'p99_ms': 1000 * common.percentile(latencies, 0.99),
            'bytes': len(results[-1][1])}


def report(name, numbers):
    print(f'{name:<28} {numbers["requests"]:>6} requests  {numbers["rps"]:8.1f} req/s  '
          f'p50 {numbers["p50_ms"]:8.1f} ms  p99 {numbers["p99_ms"]:8.1f} ms  '
          f'({numbers["bytes"]} bytes per response)')


@contextlib.contextmanager
def running_api(backend, prefix):
    """A ``climate-api`` and one ``climate-manager`` on a fresh ``backend`` database
    and RabbitMQ; yields (api, managers), stops both and drops the database after."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    database = backends.ProvisionedDatabase(backend, str(tmp))
    managers = Managers(database, backends.RABBIT_URL, tmp)
    api = None
    try:
        managers.start(1)
        api = Api([managers.config], tmp)
        yield api, managers
    finally:
        if api is not None:
            api.stop()
        managers.stop()
        database.drop()


def run(leases, gets, concurrency, backend):
    with running_api(backend, 'climate-api-bench-') as (api, _):
        creates = [('POST', '/v1/leases', {
            'name': f'bench-{i}', 'start_date': '2030-01-01 10:00',
            'end_date': '2030-01-02 10:00', 'before_end_date': None, 'events': [],
            'reservations': [{'resource_type': 'dummy:resource'}]})
            for i in range(leases)]
        report('POST /v1/leases', measure(api, creates, concurrency, 201))
        listing = [('GET', '/v1/leases', None)] * gets
        report(f'GET /v1/leases ({leases} leases)', measure(api, listing, concurrency,
                                                          200))
        single = [('GET', '/v1/leases?limit=1', None)] * gets
        report('GET /v1/leases?limit=1', measure(api, single, concurrency, 200))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--leases', type=int, default=1000)
    parser.add_argument('--gets', type=int, default=40)
    parser.add_argument('--concurrency', type=int, default=4)
    parser.add_argument('--backend', default='mysql', choices=backends.DATABASES)
    args = parser.parse_args()
    common.exit_unless_available(args.backend, 'rabbit')
    print(f'climate-api + 1 climate-manager on {args.backend} + RabbitMQ, '
          f'{args.concurrency} client threads')
    run(args.leases, args.gets, args.concurrency, args.backend)


if __name__ == '__main__':
    main()
