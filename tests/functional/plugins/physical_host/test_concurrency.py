"""No double booking (invariant 1) under concurrent creates and updates.

Two real ``climate-manager`` processes over RabbitMQ share one database and one Nova
(the HTTP double, so both see the same hypervisors and aggregates); two independent
RPC clients stand for two API workers. Every window of the contended requests contains
the same instant, so each host can hold at most one of them whatever the order: of the
50 requests exactly as many succeed as there are hosts, and every other one fails with
NotEnoughHostsAvailable (409), never with a retry-exhausted conflict.
"""

import concurrent.futures
import datetime
import random

import oslo_messaging as messaging
import pytest
import sqlalchemy as sa

from climate import exceptions
from climate import rpc
from climate.common import timeutils
from climate.db import models
from climate.manager import rpcapi
from tests.fakes import nova_api
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import HostsEnv
from tests.functional.plugins.physical_host.conftest import future
from tests.functional.plugins.physical_host.conftest import overlapping_pairs
from tests.manager_processes import Managers

HOSTS = 10
OPERATIONS = 50
MOVERS = 5


class HostManagers(Managers):
    """Manager processes running the physical:host plugin on the Nova double."""

    def __init__(self, database, rabbit_url, tmp_path, fake_nova, manager_options=None):
        super().__init__(database, rabbit_url, tmp_path)
        self.transports = []
        # Short timeouts for the tests; any may be overridden.
        manager_options = '\n'.join(f'{k} = {v}' for k, v in dict(
            {'claim_timeout': 3, 'max_poll_interval': 2, 'minutes_before_end_lease': 0},
            **(manager_options or {})).items())
        self.config.write_text(f"""[DEFAULT]
transport_url = {rabbit_url}
[database]
connection = {database.url}
[manager]
rpc_topic = {self.topic}
plugins = physical.host.plugin
{manager_options}
[compute]
driver = nova
poll_interval = 0.05
wait_timeout = 10
{fake_nova.config_text(timeout=30)}
[oslo_messaging_notifications]
driver = noop
""")

    def enroll(self, count, workers=1):
        """Enroll hypervisors ``compute-0`` … ``compute-{count-1}`` of the Nova double,
        ``workers`` at a time."""
        admin = self.ctx.__class__(user_id='admin', project_id='admin', is_admin=True)
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda i: self.api.call_plugin(
                admin, 'physical:host', 'create_host', values={'name': f'compute-{i}'}),
                range(count)))

    def client(self, rabbit_url):
        """An RPC client on a connection of its own (one "API worker")."""
        transport = messaging.get_rpc_transport(
            self.conf, url=rabbit_url, allowed_remote_exmods=rpc.ALLOWED_EXMODS)
        self.transports.append(transport)
        return rpcapi.ManagerAPI(self.conf, transport=transport, timeout=120)


@pytest.fixture
def host_managers(database, rabbit_url, tmp_path):
    with nova_api.FakeNova() as nova:
        group = HostManagers(database, rabbit_url, tmp_path, nova)
        group.nova = nova
        yield group
        group.stop()
        for transport in group.transports:
            transport.cleanup()


def _date(value):
    return value.strftime('%Y-%m-%d %H:%M')


class Contended:
    """The contended workload: its operations, their outcomes and where they meet.

    ``MOVERS`` leases are first made far away; then ``operations`` requests (moves of
    those leases and creates) whose windows all contain ``t0`` run from ``threads``
    threads over the RPC ``clients`` in turn.
    """

    def __init__(self, group, clients, hosts=HOSTS, operations=OPERATIONS,
                 movers=MOVERS, threads=24, seed=20261122):
        self.group, self.clients = group, clients
        self.hosts, self.threads = hosts, threads
        self.rng = random.Random(seed)
        self.t0 = (timeutils.utcnow() + datetime.timedelta(days=20)).replace(
            minute=0, second=0, microsecond=0)
        far = self.t0 + datetime.timedelta(days=10)
        self.movers = [group.api.create_lease(group.ctx, self._body(
            f'mover-{i}', (_date(far), _date(far + HOUR)))) for i in range(movers)]
        self.operations = [('update', mover['id'], self._window())
                           for mover in self.movers]
        self.operations += [('create', f'lease-{i}', self._window())
                            for i in range(operations - movers)]
        self.rng.shuffle(self.operations)
        self.results = None

    def _window(self):
        start = self.t0 - datetime.timedelta(minutes=self.rng.randrange(0, 180))
        end = self.t0 + datetime.timedelta(minutes=self.rng.randrange(1, 180))
        return _date(start), _date(end)

    @staticmethod
    def _body(name, window):
        return {'name': name, 'start_date': window[0], 'end_date': window[1],
                'reservations': [{'resource_type': 'physical:host', 'min': 1, 'max': 1,
                                  'hypervisor_properties': '',
                                  'resource_properties': ''}]}

    def _run_one(self, index_operation):
        index, (kind, target, window) = index_operation
        api = self.clients[index % len(self.clients)]
        try:
            if kind == 'create':
                lease = api.create_lease(self.group.ctx, self._body(target, window))
            else:
                lease = api.update_lease(self.group.ctx, target, {
                    'start_date': window[0], 'end_date': window[1]})
            return kind, 'ok', lease['id']
        except exceptions.NotEnoughHostsAvailable:
            return kind, 'full', target
        except Exception as exc:  # anything else is a failure of the test
            return kind, f'{type(exc).__name__}: {exc}', target

    def run(self):
        with concurrent.futures.ThreadPoolExecutor(self.threads) as pool:
            self.results = list(pool.map(self._run_one, enumerate(self.operations)))
        return self.results

    def check(self, engines):
        """Exactly one success per host and no other outcome than 409 "full", as seen
        by the managers and by SQL through each of ``engines``."""
        results = self.results
        unexpected = [r for r in results if r[1] not in ('ok', 'full')]
        assert unexpected == []
        successes = [r for r in results if r[1] == 'ok']
        assert len(successes) == self.hosts, results
        moved = {r[2] for r in successes if r[0] == 'update'}
        allocations = models.ComputeHostAllocation.__table__
        leases = models.Lease.__table__
        for engine in engines:
            assert overlapping_pairs(engine) == []
            with engine.connect() as conn:
                contended = sorted(conn.execute(
                    sa.select(allocations.c.compute_host_id)
                    .where(allocations.c.start_date <= self.t0,
                           allocations.c.end_date > self.t0)).scalars())
                # (Not 1..hosts: Galera spaces auto-increment ids by the cluster size.)
                hosts = sorted(conn.execute(
                    sa.select(models.ComputeHost.__table__.c.id)).scalars())
                assert contended == hosts and len(hosts) == self.hosts
                total = conn.execute(
                    sa.select(sa.func.count()).select_from(allocations)).scalar()
                statuses = set(conn.execute(sa.select(leases.c.status)).scalars())
            assert total == self.hosts + len(self.movers) - len(moved)
            assert statuses == {'PENDING'}
        # Failed updates left their leases as they were; successful ones moved them.
        group = self.group
        for mover in self.movers:
            lease = group.api.get_lease(group.ctx, mover['id'])
            assert lease['status'] == 'PENDING'
            moved_here = lease['start_date'] != mover['start_date']
            assert moved_here == (mover['id'] in moved)
        leases = group.api.list_leases(group.ctx)
        assert len(leases) == len(self.movers) + len(successes) - len(moved)
        assert {lease['status'] for lease in leases} == {'PENDING'}


def enroll_hosts(group, count):
    for i in range(count):
        group.nova.add_hypervisor(f'compute-{i}')
    group.enroll(count)


def test_two_managers_two_clients_50_concurrent_creates_and_updates(
        host_managers, rabbit_url, database):
    group = host_managers
    group.start(2)
    enroll_hosts(group, HOSTS)
    workload = Contended(group, [group.client(rabbit_url), group.client(rabbit_url)])
    workload.run()
    workload.check([database.engine])


def test_threads_in_one_service_never_double_book(migrated_database, host_conf):
    """Many concurrent creates of 1-3 hosts over random overlapping windows in one
    process: no overlap, and a request that failed still cannot be satisfied at the
    end (creates only take capacity, so a legitimate refusal stays legitimate)."""
    from climate.compute import memory
    env = HostsEnv(migrated_database, host_conf, memory.MemoryDriver(host_conf))
    try:
        env.enroll_many(6)
        rng = random.Random(7)
        base = (timeutils.utcnow() + datetime.timedelta(days=30)).replace(
            minute=0, second=0, microsecond=0)
        requests = []
        for _ in range(60):
            start = base + datetime.timedelta(minutes=30 * rng.randrange(0, 16))
            end = start + datetime.timedelta(minutes=30 * rng.randrange(1, 6))
            count = rng.choice((1, 1, 2, 3))
            requests.append((start, end, count))

        def run(request):
            start, end, count = request
            try:
                env.create(start, end, min=count)
                return 'ok'
            except exceptions.NotEnoughHostsAvailable:
                return 'full'
            except Exception as exc:
                return f'{type(exc).__name__}: {exc}'

        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            outcomes = list(pool.map(run, requests))
        assert set(outcomes) <= {'ok', 'full'}, outcomes
        assert 'ok' in outcomes and 'full' in outcomes
        assert overlapping_pairs(migrated_database.engine) == []
        for request, outcome in zip(requests, outcomes):
            if outcome == 'full':
                with pytest.raises(exceptions.NotEnoughHostsAvailable):
                    env.create(request[0], request[1], min=request[2])
    finally:
        env.close()


@pytest.mark.parametrize('database', ['mysql', 'postgresql'], indirect=True)
def test_a_claim_that_lost_the_race_is_retried_on_fresh_data(hosts_env, monkeypatch):
    """Another transaction takes the chosen host between the search and the claim
    (committed from a second connection): the claim matches no row, the manager
    retries, and the lease gets the other host. (SQLite runs one writer at a time,
    so the race cannot happen there.)"""
    from climate.db import host_search
    env = hosts_env
    first, second = (int(h['id']) for h in env.enroll_many(2))
    start = future()
    rival = env.create(start + 2 * HOUR, start + 3 * HOUR)
    allocations = models.ComputeHostAllocation.__table__
    hosts = models.ComputeHost.__table__
    original = host_search.find_free_hosts
    calls = []

    def racing(context, *args, **kwargs):
        found = original(context, *args, **kwargs)
        calls.append([c.host_id for c in found])
        if len(calls) == 1:
            taken = found[0].host_id
            with env.database.engine.begin() as conn:  # a concurrent transaction
                conn.execute(sa.update(allocations)
                             .where(allocations.c.reservation_id ==
                                    rival['reservations'][0]['id'])
                             .values(compute_host_id=taken, start_date=start,
                                     end_date=start + HOUR))
                conn.execute(sa.update(hosts).where(hosts.c.id == taken)
                             .values(generation=hosts.c.generation + 1))
        return found

    monkeypatch.setattr(host_search, 'find_free_hosts', racing)
    lease = env.create(start, start + HOUR)
    assert len(calls) == 2 and calls[0] != calls[1]
    assert env.allocated_hosts(lease) == calls[1] and calls[1][0] in (first, second)
    assert env.overlapping_pairs() == []
