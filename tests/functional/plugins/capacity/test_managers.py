"""The capacity invariant with two ``climate-manager`` processes over RabbitMQ and
two RPC clients (two "API workers") on MariaDB: capacity and whole-host creates on
the same hosts and the same instant race; afterwards no host is over its inventory,
none is whole-held and sliced at once, and the successes are all that capacity
allowed: when a capacity request was refused every host not held whole is full, and
when a whole-host request was refused no host is left empty."""

import concurrent.futures
import datetime
import random

import pytest
import sqlalchemy as sa

from climate import exceptions
from climate.common import timeutils
from climate.db import models
from tests.fakes import nova_api
from tests.functional.plugins.capacity.conftest import violations
from tests.functional.plugins.physical_host.test_concurrency import HostManagers

HOSTS, VCPUS = 4, 4


@pytest.fixture
def capacity_managers(database, rabbit_url, tmp_path):
    with nova_api.FakeNova() as nova:
        group = HostManagers(database, rabbit_url, tmp_path, nova)
        group.config.write_text(group.config.read_text().replace(
            'plugins = physical.host.plugin',
            'plugins = physical.host.plugin, virtual.instance.plugin'))
        group.nova = nova
        yield group
        group.stop()
        for transport in group.transports:
            transport.cleanup()


def _date(value):
    return value.strftime('%Y-%m-%d %H:%M')


@pytest.mark.parametrize('database', ['mysql'], indirect=True)
def test_two_managers_race_capacity_and_whole_host_creates(capacity_managers,
                                                           rabbit_url, database):
    group = capacity_managers
    group.start(2)
    enroll(group)
    race(group, [group.client(rabbit_url), group.client(rabbit_url)],
         [database.engine])


def enroll(group):
    """``HOSTS`` hosts of ``VCPUS`` vCPUs, enrolled."""
    for i in range(HOSTS):
        group.nova.add_hypervisor(f'compute-{i}', vcpus=VCPUS)
    admin = group.ctx.__class__(user_id='admin', project_id='admin', is_admin=True)
    for name in (f'compute-{i}' for i in range(HOSTS)):
        group.api.call_plugin(admin, 'physical:host', 'create_host',
                              values={'name': name})


def race(group, clients, engines, days=20, seed=16):
    """Race creates over ``clients``, all windows around one instant ``days`` ahead
    (another ``days`` is another round on the same hosts), and check through each of
    ``engines``."""
    rng = random.Random(seed)
    t0 = (timeutils.utcnow() + datetime.timedelta(days=days)).replace(
        minute=0, second=0, microsecond=0)
    requests = []
    for i in range(30):
        start = t0 - datetime.timedelta(minutes=rng.randrange(0, 120))
        end = t0 + datetime.timedelta(minutes=rng.randrange(1, 120))
        if i % 5 == 0:
            reservation = {'resource_type': 'physical:host', 'min': 1, 'max': 1,
                           'hypervisor_properties': '', 'resource_properties': ''}
        else:
            reservation = {'resource_type': 'virtual:instance', 'vcpus': 1,
                           'memory_mb': 512, 'disk_gb': 10,
                           'amount': rng.choice((1, 2)), 'affinity': 'None',
                           'resource_properties': ''}
        requests.append({'name': f'r{i}', 'start_date': _date(start),
                         'end_date': _date(end), 'reservations': [reservation]})

    def run(indexed):
        index, body = indexed
        try:
            clients[index % 2].create_lease(group.ctx, body)
            return 'ok'
        except exceptions.NotEnoughHostsAvailable:
            return 'full'
        except Exception as exc:      # reported by the assertion below
            return f'{type(exc).__name__}: {exc}'

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(run, enumerate(requests)))
    assert set(outcomes) <= {'ok', 'full'}, outcomes
    for engine in engines:
        check(engine, group, requests, outcomes, t0)
    assert outcomes.count('ok') >= HOSTS
    return outcomes


def _at(table, t0):
    return sa.and_(table.c.start_date <= t0, table.c.end_date > t0)


def check(engine, group, requests, outcomes, t0):
    assert violations(engine, group.conf) == []
    slices_t = models.CapacityAllocation.__table__
    whole_t = models.ComputeHostAllocation.__table__
    with engine.connect() as conn:
        used = dict(conn.execute(sa.select(
            slices_t.c.compute_host_id, sa.func.sum(slices_t.c.vcpus))
            .where(_at(slices_t, t0)).group_by(slices_t.c.compute_host_id)).all())
        whole = set(conn.execute(sa.select(whole_t.c.compute_host_id)
                                 .where(_at(whole_t, t0))).scalars())
        hosts = set(conn.execute(sa.select(models.ComputeHost.__table__.c.id))
                    .scalars())
    refused = [r['reservations'][0] for r, outcome in zip(requests, outcomes)
               if outcome == 'full']
    amounts = [r['amount'] for r in refused if r['resource_type'] == 'virtual:instance']
    if amounts:
        # Every window contains t0 and creates only take room: a refused request of
        # n instances of 1 vCPU means fewer than n vCPUs were free on the hosts not
        # held whole, and still are.
        free = sum(VCPUS - used.get(h, 0) for h in hosts - whole)
        assert free < min(amounts), (used, whole, amounts)
    if any(r['resource_type'] == 'physical:host' for r in refused):
        assert hosts == whole | set(used), (used, whole)
