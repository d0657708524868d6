"""A quota race on a multi-writer MariaDB Galera cluster: creates of one project go
through two ``climate-manager`` processes, each writing through a different node,
against a ``hosts`` quota. Each create asks for its own host (no two claims share a
host row), so the only row they all write is the project's lock row
(``project_usage_locks``): the transactions racing on it through different nodes
fail certification at commit (MySQL error 1213, oslo.db's ``DBDeadlock``) and the
lease service retries them like a lost claim, on data that now holds the winner's
lease. The accepted creates never exceed the limit (checked through every node), the
others are 403s, and conflicts did happen and were retried, so that a run which
happened to be serial cannot pass. (Measured: without the lock row more than the
quota is created; without QuotaFilter the same creates meet no conflict at all.)"""

import concurrent.futures
import datetime

import sqlalchemy as sa

from climate import exceptions
from climate.common import timeutils
from climate.db import models
from tests.functional.plugins.physical_host import test_concurrency as concurrency
from tests.functional.plugins.physical_host import test_galera as host_galera

# Galera's ``database`` and per-node engines, the host plugin's manager processes.
database = host_galera.database
node_engines = host_galera.node_engines
host_managers = concurrency.host_managers

HOSTS, QUOTA, CREATES = 12, 4, 12


def test_quota_race_through_different_nodes_never_passes_the_limit(
        host_managers, rabbit_url, database, node_engines):
    group = host_managers
    group.start(2, own_config=lambda index: (
        f'[DEFAULT]\ndebug = true\n'
        f'[database]\nconnection = {database.node_urls[index]}\n'
        f'[manager]\nclaim_retries = 60\n'
        f'[enforcement]\nenabled_filters = QuotaFilter\n'
        f'quota_limits = hosts:{QUOTA}\n'))
    concurrency.enroll_hosts(group, HOSTS)
    clients = [group.client(rabbit_url), group.client(rabbit_url)]
    t0 = (timeutils.utcnow() + datetime.timedelta(days=20)).replace(
        minute=0, second=0, microsecond=0)

    def create(index):
        # Every window contains t0: each accepted lease counts against all others.
        begin = t0 - datetime.timedelta(minutes=index)
        body = {'name': f'race-{index}', 'start_date': _date(begin),
                'end_date': _date(t0 + datetime.timedelta(hours=1)),
                'reservations': [{
                    'resource_type': 'physical:host', 'min': 1, 'max': 1,
                    'hypervisor_properties':
                        f'["=", "$hypervisor_hostname", "compute-{index}"]',
                    'resource_properties': ''}]}
        try:
            clients[index % 2].create_lease(group.ctx, body)
            return 'created'
        except exceptions.UsageLimitExceeded:
            return 'refused'
        except Exception as exc:      # reported by the assertion below
            return f'{type(exc).__name__}: {exc}'

    before = host_galera.conflict_counts(node_engines)
    with concurrent.futures.ThreadPoolExecutor(CREATES) as pool:
        outcomes = list(pool.map(create, range(CREATES)))
    after = host_galera.conflict_counts(node_engines)

    assert sorted(outcomes) == ['created'] * QUOTA + ['refused'] * (CREATES - QUOTA), \
        outcomes
    for engine in node_engines:
        assert hosts_held(engine) == QUOTA
    deltas = {name: after[name] - before[name] for name in after}
    retries = []
    for process in group.processes:
        with open(process.log_path) as log:
            retries.append(sum(1 for line in log
                               if host_galera.DEADLOCK_RETRY.search(line)))
    report = f'Galera counters {deltas}; deadlock retries per manager {retries}'
    print(f'\n{report}')
    aborts = sum(deltas[name] for name in host_galera.CONFLICT_COUNTERS)
    assert aborts > 0, f'no Galera conflict (a serial run): {report}'
    assert sum(retries) > 0, f'no manager retried a transaction Galera aborted: {report}'


def _date(value):
    return value.strftime('%Y-%m-%d %H:%M')


def hosts_held(engine):
    """Hosts the project holds, read through one node (all windows share t0)."""
    a = models.ComputeHostAllocation.__table__
    r = models.Reservation.__table__
    lease = models.Lease.__table__
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count())
                            .select_from(a.join(r, a.c.reservation_id == r.c.id)
                                         .join(lease, r.c.lease_id == lease.c.id))
                            .where(lease.c.project_id == 'p1')).scalar()
