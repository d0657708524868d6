"""Lease updates of host reservations: extend, shorten, move, min/max, properties;
re-allocation when needed, and a 409 with nothing changed when impossible."""

import itertools

import pytest
import sqlalchemy as sa

from climate import exceptions
from climate.common import timeutils
from climate.compute import exceptions as compute_exc
from climate.db import models
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import future
from tests.functional.plugins.physical_host.conftest import wait_for


def windows(env, lease):
    table = models.ComputeHostAllocation.__table__
    with env.database.engine.connect() as conn:
        return sorted(conn.execute(
            sa.select(table.c.compute_host_id, table.c.start_date, table.c.end_date)
            .where(table.c.reservation_id == lease['reservations'][0]['id'])).all())


def update(env, lease, **values):
    body = {key: value.isoformat() if hasattr(value, 'isoformat') else value
            for key, value in values.items() if key != 'reservation'}
    if 'reservation' in values:
        body['reservations'] = [dict(values['reservation'],
                                     id=lease['reservations'][0]['id'])]
    return env.service.update_lease(env.ctx, lease['id'], body)


def test_extend_shorten_and_move_keep_the_host_when_free(hosts_env):
    env = hosts_env
    env.enroll_many(2)
    start = future()
    lease = env.create(start, start + HOUR)
    (host,) = env.allocated_hosts(lease)
    for new_start, new_end in ((start, start + 3 * HOUR), (start, start + 2 * HOUR),
                               (start + 5 * HOUR, start + 6 * HOUR)):
        updated = update(env, lease, start_date=new_start, end_date=new_end)
        assert updated['start_date'] == timeutils.format_date(new_start)
        assert updated['end_date'] == timeutils.format_date(new_end)
        assert updated['status'] == 'PENDING'
        assert windows(env, lease) == [(host, new_start, new_end)]
    assert env.overlapping_pairs() == []


def test_extension_into_a_busy_host_moves_to_a_free_one(hosts_env):
    env = hosts_env
    env.enroll_many(2)
    start = future()
    first = env.create(start, start + HOUR)
    # best_fit puts the next lease on the same host, right after the first.
    second = env.create(start + HOUR, start + 2 * HOUR)
    assert env.allocated_hosts(first) == env.allocated_hosts(second)
    update(env, first, end_date=start + 2 * HOUR)
    assert env.allocated_hosts(first) != env.allocated_hosts(second)
    assert [w[1:] for w in windows(env, first)] == [(start, start + 2 * HOUR)]
    assert env.overlapping_pairs() == []


def test_impossible_update_is_a_409_and_changes_nothing(hosts_env):
    env = hosts_env
    env.enroll_many(2)
    start = future()
    first = env.create(start, start + HOUR)
    env.create(start + HOUR, start + 2 * HOUR, min=2)
    def state():
        # The status goes to UPDATING and back, which touches updated_at only.
        lease = env.service.get_lease(env.ctx, first['id'])
        lease.pop('updated_at')
        return windows(env, first), lease

    before = state()
    for values in ({'end_date': start + 2 * HOUR},
                   {'start_date': start + HOUR, 'end_date': start + 3 * HOUR},
                   {'reservation': {'min': 3, 'max': 3}}):
        with pytest.raises(exceptions.NotEnoughHostsAvailable) as err:
            update(env, first, **values)
        assert err.value.code == 409
        after = state()
        assert after == before
        assert after[1]['status'] == 'PENDING'
    assert env.overlapping_pairs() == []


def test_min_and_max_changes_reallocate(hosts_env):
    env = hosts_env
    env.enroll_many(4)
    start = future()
    lease = env.create(start, start + HOUR, min=1, max=2)
    assert len(env.allocated_hosts(lease)) == 2
    kept = env.allocated_hosts(lease)
    grown = update(env, lease, reservation={'max': '4'})
    assert (grown['reservations'][0]['min'], grown['reservations'][0]['max']) == (1, 4)
    assert len(env.allocated_hosts(lease)) == 4
    assert set(kept) <= set(env.allocated_hosts(lease))
    update(env, lease, reservation={'min': 1, 'max': 1})
    assert len(env.allocated_hosts(lease)) == 1
    with pytest.raises(exceptions.InvalidRange):
        update(env, lease, reservation={'min': 3})
    with pytest.raises(exceptions.MalformedParameter):
        update(env, lease, reservation={'max': 'lots'})
    assert len(env.allocated_hosts(lease)) == 1


def test_changed_properties_reallocate_to_matching_hosts(hosts_env):
    env = hosts_env
    env.add_hypervisors(3)
    env.enroll('compute-0', gpu='false')
    env.enroll('compute-1', gpu='false')
    gpu_host = env.enroll('compute-2', gpu='true')
    start = future()
    lease = env.create(start, start + HOUR, min=2,
                       resource_properties='["==", "$gpu", "false"]')
    assert int(gpu_host['id']) not in env.allocated_hosts(lease)
    updated = update(env, lease, reservation={
        'min': 1, 'max': 1, 'resource_properties': '["==", "$gpu", "true"]'})
    assert env.allocated_hosts(lease) == [int(gpu_host['id'])]
    assert updated['reservations'][0]['resource_properties'] == \
        '["==", "$gpu", "true"]'
    with pytest.raises(exceptions.InvalidInput):
        update(env, lease, reservation={'resource_properties': '["==", "$nope", "1"]'})


def test_before_end_change_alone_touches_no_allocation(hosts_env):
    env = hosts_env
    env.enroll_many(1)
    start = future()
    lease = env.create(start, start + HOUR)
    before = windows(env, lease)
    updated = update(env, lease, reservation={'before_end': 'snapshot'})
    assert updated['reservations'][0]['before_end'] == 'snapshot'
    assert windows(env, lease) == before


def test_a_small_sample_never_loses_the_reservations_own_hosts(hosts_env):
    env = hosts_env
    env.conf.set_override('selection_sample', 1, group='physical:host')
    env.enroll_many(8)
    start = future()
    lease = env.create(start, start + HOUR, min=2, max=3)
    held = env.allocated_hosts(lease)
    for hours in (2, 3, 4):
        update(env, lease, end_date=start + hours * HOUR)
        assert env.allocated_hosts(lease) == held


def _allocation_rows(env, lease):
    table = models.ComputeHostAllocation.__table__
    with env.database.engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(
            sa.select(table.c.id, table.c.compute_host_id, table.c.start_date,
                      table.c.end_date)
            .where(table.c.reservation_id == lease['reservations'][0]['id'])))


def _members(env, name):
    aggregate = env.driver.find_aggregate(name)
    return sorted(aggregate.hosts) if aggregate else None


@pytest.mark.parametrize('nova_back', [True, False],
                         ids=['nova-back-for-the-undo', 'nova-still-down'])
def test_nova_failing_half_way_through_an_update_puts_everything_back(
        hosts_env, nova_back):
    env = hosts_env
    names = env.add_hypervisors(3)
    for name in names:
        env.enroll(name)
    env.start_engine()
    lease = env.create('now', timeutils.utcnow() + HOUR, min=1, max=1)
    reservation_id = lease['reservations'][0]['id']
    wait_for(lambda: env.service.get_lease(env.ctx, lease['id'])['status'] == 'ACTIVE',
             timeout=20)

    def state():
        view = env.service.get_lease(env.ctx, lease['id'])
        view.pop('updated_at')
        return (view, _allocation_rows(env, lease), _members(env, reservation_id),
                _members(env, 'freepool'))

    before = state()
    assert len(before[2]) == 1 and len(before[3]) == 2
    # The update grows the reservation to 3 hosts; Nova takes the first new host
    # into the aggregate and fails on the second (and, if still down, on the undo).
    add_host_calls = itertools.count(1)
    env.faults.faults.fail(
        lambda key: key == 'add_host' and next(add_host_calls) >= 3,
        lambda key: compute_exc.ComputeError(f'injected failure of {key}',
                                             retryable=True, status_code=503),
        times=1 if nova_back else None)
    end = timeutils.utcnow_minute() + 2 * HOUR
    with pytest.raises(compute_exc.ComputeError) as err:
        update(env, lease, end_date=end, reservation={'min': 3, 'max': 3})
    assert err.value.retryable  # 503 "Nova is unavailable" at the API
    after = state()
    assert after[:2] == before[:2]  # lease, reservation, events, allocations
    assert after[0]['status'] == 'ACTIVE'
    if nova_back:
        assert after[2:] == before[2:]  # aggregates as before
    else:
        # The hosts Nova took before failing stay in the aggregate until Nova
        # answers again: the next update (or the lease's end) puts them back.
        assert set(after[2]) > set(before[2])
    assert env.overlapping_pairs() == []
    env.faults.clear_faults()
    grown = update(env, lease, end_date=end, reservation={'min': 3, 'max': 3})
    assert grown['status'] == 'ACTIVE'
    assert len(env.allocated_hosts(lease)) == 3
    assert _members(env, reservation_id) == sorted(names)
    assert _members(env, 'freepool') == []
