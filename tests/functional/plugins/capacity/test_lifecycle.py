"""A capacity reservation's life on the simulated Nova (memory driver): the flavor
appears at the start, the owner boots ``amount`` servers and no more, another
project cannot use it, and the end deletes the servers, flavor, group and aggregate;
updates that fit apply, those that do not are 409 and change nothing."""

import datetime

from oslo_db import exception as db_exc
import pytest
import sqlalchemy as sa

from climate import exceptions
from climate.common import timeutils
from climate.compute import exceptions as compute_exc
from climate.db import leases as lease_db
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import future
from tests.functional.plugins.physical_host.conftest import wait_for

sqlite_only = pytest.mark.parametrize('database', ['sqlite'], indirect=True)


def _hosts(env, count, vcpus=4):
    names = env.add_hypervisors(count, vcpus=vcpus, memory_mb=8192, local_gb=100)
    return [int(env.enroll(name)['id']) for name in names]


def _seconds(n):
    return timeutils.utcnow() + datetime.timedelta(seconds=n)


def _status(env, lease):
    return env.service.get_lease(env.admin, lease['id'])['status']


def _boot(driver, name, flavor, hints=None):
    server = driver.create_server(name, flavor, 'image', scheduler_hints=hints)
    wait_for(lambda: driver.get_server(server.id).status in ('ACTIVE', 'ERROR'))
    return driver.get_server(server.id)


@sqlite_only
def test_owner_boots_amount_servers_and_the_end_cleans_up(capacity_env):
    env = capacity_env
    _hosts(env, 2)
    env.driver.action_delay = 0
    lease = env.capacity('now', _seconds(5), amount=2, vcpus=2, affinity=False)
    reservation = lease['reservations'][0]
    flavor = reservation['flavor_id']
    group = reservation['server_group_id']
    with pytest.raises(compute_exc.FlavorNotFound):
        env.driver.get_flavor(flavor)    # no flavor before the start
    # Nor aggregate: it would hold no host before the start.
    assert env.driver.find_aggregate(reservation['id']) is None
    assert reservation['aggregate_id'] is None
    env.start_engine()
    wait_for(lambda: _status(env, lease) == 'ACTIVE')
    aggregate = env.driver.find_aggregate(reservation['id'])
    assert env.service.get_lease(env.admin, lease['id'])['reservations'][0][
        'aggregate_id'] == aggregate.id
    assert aggregate.metadata['reservation'] == reservation['id']
    assert aggregate.metadata['filter_tenant_id'] == lease['project_id']
    owner = env.driver.acting_for(env.driver.create_trust(env.ctx))
    first = _boot(owner, 'a', flavor, {'group': group})
    second = _boot(owner, 'b', flavor, {'group': group})
    third = _boot(owner, 'c', flavor, {'group': group})
    assert (first.status, second.status, third.status) == ('ACTIVE', 'ACTIVE', 'ERROR')
    assert first.host != second.host        # anti-affinity
    aggregate = env.driver.find_aggregate(reservation['id'])
    assert {first.host, second.host} == set(aggregate.hosts)
    other = env.driver.acting_for(env.driver.create_trust(
        env.user_context('u2', 'p2')))
    with pytest.raises(compute_exc.ComputeError):
        other.create_server('x', flavor, 'image')
    with pytest.raises(compute_exc.FlavorNotFound):
        other.get_flavor(flavor)
    wait_for(lambda: _status(env, lease) == 'TERMINATED', timeout=20)
    assert env.driver.list_servers_with_flavor(flavor) == []
    assert env.driver.find_aggregate(reservation['id']) is None
    assert flavor not in env.driver._flavors and group not in env.driver._groups
    assert env.slices(lease) == {}


@sqlite_only
def test_deleting_a_pending_lease_removes_its_nova_objects(capacity_env):
    env = capacity_env
    _hosts(env, 1)
    start = future()
    lease = env.capacity(start, start + HOUR, affinity=True)
    reservation = lease['reservations'][0]
    assert reservation['server_group_id'] in env.driver._groups
    env.service.delete_lease(env.ctx, lease['id'])
    assert env.driver.find_aggregate(reservation['id']) is None
    assert reservation['server_group_id'] not in env.driver._groups
    # Its capacity is free again.
    env.capacity(start, start + HOUR, amount=4)


@sqlite_only
def test_a_start_whose_aggregate_answer_is_lost_is_retried_into_one_aggregate(
        capacity_env):
    """The aggregate is made at the start: Nova makes it but the answer is lost; the
    retried start uses that aggregate (no second one) and records its id."""
    env = capacity_env
    _hosts(env, 1)
    env.faults.inject_failure('ensure_aggregate', times=1, after=True)
    lease = env.capacity('now', _seconds(30), amount=1)
    reservation = lease['reservations'][0]
    assert reservation['aggregate_id'] is None
    assert env.faults.call_count('ensure_aggregate') == 0    # nothing at create
    env.start_engine()
    wait_for(lambda: _status(env, lease) == 'ACTIVE')
    assert env.faults.call_count('ensure_aggregate') >= 2    # failed, then again
    named = [a for a in env.driver._aggregates.values()
             if a['name'] == reservation['id']]
    assert len(named) == 1 and named[0]['hosts']
    shown = env.service.get_lease(env.admin, lease['id'])['reservations'][0]
    assert shown['aggregate_id'] == env.driver.find_aggregate(reservation['id']).id


def _update(env, lease, **fields):
    reservation = {'id': lease['reservations'][0]['id']}
    dates = {k: fields.pop(k).isoformat() for k in ('start_date', 'end_date')
             if k in fields}
    reservation.update(fields)
    return env.service.update_lease(env.ctx, lease['id'],
                                    {'reservations': [reservation], **dates})


@sqlite_only
def test_pending_updates_that_fit_apply_and_others_are_409_and_change_nothing(
        capacity_env):
    env = capacity_env
    _hosts(env, 2)
    start = future()
    lease = env.capacity(start, start + HOUR, amount=2, vcpus=2)
    blocker = env.capacity(start + HOUR, start + 2 * HOUR, amount=4, vcpus=1)
    updated = _update(env, lease, amount=3)
    assert updated['reservations'][0]['amount'] == 3
    assert sum(env.slices(lease).values()) == 3
    updated = _update(env, lease, vcpus=1, amount=4)
    assert sum(env.slices(lease).values()) == 4
    before = (env.slices(lease), env.service.get_lease(env.ctx, lease['id']))
    for change in ({'amount': 5, 'vcpus': 2},                      # 10 > 8 vCPUs
                   {'end_date': start + 2 * HOUR, 'vcpus': 2},     # blocker in the way
                   {'affinity': True}):                            # not updatable
        with pytest.raises(exceptions.ClimateException) as refused:
            _update(env, lease, **change)
        assert refused.value.code == 409, change
        assert (env.slices(lease), env.service.get_lease(env.ctx, lease['id'])) == \
            before
    # Moving past the blocker works.
    _update(env, lease, start_date=start + 2 * HOUR, end_date=start + 3 * HOUR,
            amount=8)
    assert sum(env.slices(lease).values()) == 8
    assert env.slices(blocker)
    assert env.violations() == []


@sqlite_only
def test_active_reservation_may_only_grow_and_keeps_its_hosts(capacity_env):
    env = capacity_env
    _hosts(env, 2)
    env.driver.action_delay = 0
    lease = env.capacity('now', _seconds(3600), amount=2, vcpus=2)
    env.start_engine()
    wait_for(lambda: _status(env, lease) == 'ACTIVE')
    held = env.slices(lease)
    updated = _update(env, lease, amount=3)
    assert updated['status'] == 'ACTIVE'
    grown = env.slices(lease)
    assert all(grown.get(h, 0) >= n for h, n in held.items())
    assert sum(grown.values()) == 3
    aggregate = env.driver.find_aggregate(lease['reservations'][0]['id'])
    slots = {k: v for k, v in aggregate.metadata.items() if k.startswith('climate:slots:')}
    assert sorted(int(v) for v in slots.values()) == sorted(grown.values())
    for change in ({'amount': 2}, {'vcpus': 1}):
        with pytest.raises(exceptions.ClimateException) as refused:
            _update(env, lease, **change)
        assert refused.value.code == 409
    assert env.slices(lease) == grown
    # Prolonging keeps the hosts; prolonging into a full host is 409 and changes
    # nothing.
    end = timeutils.utcnow() + 2 * HOUR
    blocker = env.capacity(end, end + HOUR, amount=2, vcpus=4)
    _update(env, lease, end_date=end)
    assert env.slices(lease) == grown
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        _update(env, lease, end_date=end + HOUR / 2)
    assert env.service.get_lease(env.ctx, lease['id'])['end_date'].startswith(
        end.strftime('%Y-%m-%dT%H:%M'))
    assert env.slices(blocker) and env.violations() == []


@sqlite_only
def test_update_whose_nova_side_fails_is_undone(capacity_env):
    env = capacity_env
    _hosts(env, 3)
    env.driver.action_delay = 0
    lease = env.capacity('now', _seconds(3600), amount=2, vcpus=4)
    env.start_engine()
    wait_for(lambda: _status(env, lease) == 'ACTIVE')
    held = env.slices(lease)
    env.faults.inject_failure('set_aggregate_metadata', times=1, retryable=False)
    with pytest.raises(compute_exc.ComputeError) as failed:
        _update(env, lease, amount=3, vcpus=4)
    assert not isinstance(failed.value, exceptions.NotEnoughHostsAvailable)
    assert env.slices(lease) == held
    shown = env.service.get_lease(env.ctx, lease['id'])
    assert shown['status'] == 'ACTIVE' and shown['reservations'][0]['amount'] == 2
    # Once Nova works again, the same update applies.
    _update(env, lease, amount=3, vcpus=4)
    assert sum(env.slices(lease).values()) == 3


def _leftovers(env):
    """What a capacity create leaves in Nova and the database: aggregate names,
    server group names, and the rows of leases, capacity requests and slices."""
    tables = ('leases', 'reservations', 'capacity_reservations',
              'capacity_allocations', 'events')
    with env.database.engine.connect() as conn:
        rows = {t: conn.execute(sa.text(f'SELECT COUNT(*) FROM {t}')).scalar()
                for t in tables}
    return ({a['name'] for a in env.driver._aggregates.values()},
            {g['name'] for g in env.driver._groups.values()}, rows)


@sqlite_only
def test_create_whose_server_group_fails_leaves_nothing(capacity_env):
    """The server group fails: the create is refused and neither Nova nor the
    database keeps anything of it; the capacity stays free."""
    env = capacity_env
    _hosts(env, 1)
    start = future()
    before = _leftovers(env)
    env.faults.inject_failure('ensure_server_group', times=1, retryable=False)
    with pytest.raises(exceptions.ClimateException, match='injected failure'):
        env.capacity(start, start + HOUR, amount=2, affinity=True)
    assert _leftovers(env) == before
    lease = env.capacity(start, start + HOUR, amount=4, affinity=True)
    assert sum(env.slices(lease).values()) == 4


@sqlite_only
def test_create_whose_last_transaction_fails_removes_its_nova_objects(
        capacity_env, monkeypatch):
    """Nova's side is made and recorded, then making the lease PENDING fails (the
    database went away; simulated, it cannot be made to fail at that point here):
    the server group is removed with the lease's rows."""
    env = capacity_env
    _hosts(env, 2)
    start = future()
    before = _leftovers(env)
    real = lease_db.set_status

    def fail_once(context, lease_id, target, *args, **kwargs):
        if target == 'PENDING':
            monkeypatch.setattr(lease_db, 'set_status', real)
            raise db_exc.DBConnectionError('injected: database gone')
        return real(context, lease_id, target, *args, **kwargs)

    monkeypatch.setattr(lease_db, 'set_status', fail_once)
    with pytest.raises(db_exc.DBConnectionError):
        env.capacity(start, start + HOUR, amount=2, affinity=False)
    assert _leftovers(env) == before
