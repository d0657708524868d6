"""The capacity invariant under concurrency, on MariaDB and PostgreSQL: threads of one
lease service race creates of capacity and whole-host reservations on the same hosts.
Afterwards no host is over its inventory at any instant, no host is whole-held and
sliced in overlapping windows, and the successes are exactly what capacity allows."""

import concurrent.futures
import datetime
import random

import pytest

from climate import exceptions
from tests.functional.plugins.physical_host.conftest import future

servers = pytest.mark.parametrize('database', ['mysql', 'postgresql'], indirect=True)
MINUTE = datetime.timedelta(minutes=1)


def _hosts(env, count, vcpus=4):
    names = env.add_hypervisors(count, vcpus=vcpus, memory_mb=8192, local_gb=100)
    return [int(env.enroll(name)['id']) for name in names]


def _race(calls, workers=12):
    def run(call):
        try:
            call()
            return 'ok'
        except exceptions.NotEnoughHostsAvailable:
            return 'full'
        except Exception as exc:      # reported in the assertion below
            return f'{type(exc).__name__}: {exc}'

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, calls))


@servers
def test_racing_slices_succeed_exactly_as_capacity_allows(capacity_env):
    env = capacity_env
    _hosts(env, 4)                          # 16 vCPUs
    start = future()
    outcomes = _race([lambda: env.capacity(start, start + 60 * MINUTE, amount=1)
                      for _ in range(30)])
    assert sorted(outcomes) == ['full'] * 14 + ['ok'] * 16, outcomes
    assert env.violations() == []


@servers
def test_mixed_whole_host_and_capacity_creates_never_break_the_invariant(
        capacity_env):
    env = capacity_env
    _hosts(env, 6)
    rng = random.Random(11)
    base = future()
    requests = []
    for _ in range(60):
        start = base + 30 * MINUTE * rng.randrange(0, 8)
        end = start + 30 * MINUTE * rng.randrange(1, 5)
        if rng.random() < 0.3:
            requests.append(('whole', start, end, {'min': rng.choice((1, 2))}))
        else:
            requests.append(('slice', start, end, {
                'amount': rng.randrange(1, 5), 'vcpus': rng.choice((1, 2)),
                'affinity': rng.choice(('None', 'True', 'False'))}))

    def call(request):
        kind, start, end, fields = request
        if kind == 'whole':
            return lambda: env.create(start, end, **fields)
        return lambda: env.capacity(start, end, **fields)

    outcomes = _race([call(r) for r in requests])
    assert set(outcomes) <= {'ok', 'full'}, outcomes
    assert outcomes.count('ok') > 10 and 'full' in outcomes
    assert env.violations() == []
    # Creates only take capacity: what was refused is still refused.
    for request, outcome in zip(requests, outcomes):
        if outcome == 'full':
            with pytest.raises(exceptions.NotEnoughHostsAvailable):
                call(request)()
