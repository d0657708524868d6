"""Capacity reservations share hosts with whole-host reservations: placement, peaks,
allocation ratios and cleaning time (virtual:instance capacity mode and
flavor:instance through the lease service)."""

import datetime

import pytest

from climate import exceptions
from climate.db import claims
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import future

DAY = 24 * HOUR
sqlite_only = pytest.mark.parametrize('database', ['sqlite'], indirect=True)


def _hosts(env, count, vcpus=4, memory_mb=4096, local_gb=100):
    names = env.add_hypervisors(count, vcpus=vcpus, memory_mb=memory_mb,
                                local_gb=local_gb)
    return [int(env.enroll(name)['id']) for name in names]


@sqlite_only
def test_response_has_blazar_fields_and_the_slices_hold_amount(capacity_env):
    env = capacity_env
    _hosts(env, 2)
    start = future()
    lease = env.capacity(start, start + HOUR, amount=3, vcpus=2, memory_mb=1024,
                         disk_gb=20, affinity='None')
    reservation = lease['reservations'][0]
    assert reservation['flavor_id'] == reservation['id']
    assert reservation['aggregate_id'] is None     # made at the start
    assert reservation['server_group_id'] is None
    assert {k: reservation[k] for k in ('vcpus', 'memory_mb', 'disk_gb', 'amount',
                                        'affinity', 'resource_properties')} == {
        'vcpus': 2, 'memory_mb': 1024, 'disk_gb': 20, 'amount': 3, 'affinity': None,
        'resource_properties': ''}
    # Best fit: 2 on the first host (full), 1 on the second.
    assert sorted(env.slices(lease).values()) == [1, 2]
    # Nothing was asked of Nova at create.
    assert env.driver.find_aggregate(reservation['id']) is None
    assert env.violations() == []


@sqlite_only
@pytest.mark.parametrize('affinity,expected', [('True', [3]), (False, [1, 1, 1])])
def test_affinity_puts_instances_on_one_host_or_distinct_hosts(capacity_env, affinity,
                                                               expected):
    env = capacity_env
    _hosts(env, 3)
    start = future()
    lease = env.capacity(start, start + HOUR, amount=3, affinity=affinity)
    assert sorted(env.slices(lease).values()) == expected
    group = lease['reservations'][0]['server_group_id']
    assert group is not None
    policy = 'affinity' if affinity == 'True' else 'anti-affinity'
    assert env.driver._groups[group]['policy'] == policy
    assert env.driver._groups[group]['project_id'] == 'p1'


@sqlite_only
def test_affinity_refused_when_no_single_host_has_room(capacity_env):
    env = capacity_env
    _hosts(env, 2, vcpus=2)
    start = future()
    with pytest.raises(exceptions.NotEnoughHostsAvailable) as refused:
        env.capacity(start, start + HOUR, amount=3, affinity=True)
    assert refused.value.code == 409
    assert 'on one host' in str(refused.value)
    # Anywhere, 3 fit on 2 hosts of 2 vCPUs.
    env.capacity(start, start + HOUR, amount=3, affinity=None)


@sqlite_only
def test_whole_host_and_slices_never_share_a_host_in_overlapping_windows(capacity_env):
    env = capacity_env
    first, second = _hosts(env, 2)
    start = future()
    sliced = env.capacity(start, start + 2 * HOUR, amount=1)
    (sliced_host,) = env.slices(sliced)
    whole = env.create(start + HOUR, start + 3 * HOUR, min=1)
    assert env.allocated_hosts(whole) == [({first, second} - {sliced_host}).pop()]
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        env.create(start + HOUR / 2, start + HOUR * 3 / 2, min=1)
    # The whole-held host takes no slice: 4 more vCPUs fit only on the sliced one (3).
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        env.capacity(start + HOUR, start + 2 * HOUR, amount=4)
    env.capacity(start + HOUR, start + 2 * HOUR, amount=3)
    # After both, each host is free again, whole or sliced.
    env.create(start + 3 * HOUR, start + 4 * HOUR, min=2)
    assert env.violations() == []


@sqlite_only
def test_the_peak_counts_not_the_sum_and_cleaning_time_separates(capacity_env):
    env = capacity_env
    _hosts(env, 1, vcpus=4)
    start = future()
    env.capacity(start, start + HOUR, amount=4)              # full in [0, 1h)
    env.capacity(start + HOUR, start + 2 * HOUR, amount=4)   # full in [1h, 2h)
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        env.capacity(start + HOUR / 2, start + HOUR * 3 / 2, amount=1)
    env.capacity(start - HOUR, start, amount=2)
    env.capacity(start - HOUR, start, amount=2)
    assert env.violations() == []
    env.conf.set_override('cleaning_time', 30)
    # Back to back was fine; 30 minutes of cleaning around each slice is not.
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        env.capacity(start + 2 * HOUR, start + 3 * HOUR, amount=1)
    env.capacity(start + 2 * HOUR + HOUR / 2, start + 3 * HOUR, amount=4)
    # (The first two were made back to back before the cleaning time was set.)
    assert env.violations() == []


@sqlite_only
def test_allocation_ratios_multiply_the_inventory(capacity_env):
    env = capacity_env
    _hosts(env, 1, vcpus=4, memory_mb=4096)
    start = future()
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        env.capacity(start, start + HOUR, amount=6)
    env.conf.set_override('cpu_allocation_ratio', 1.5)
    env.capacity(start, start + HOUR, amount=6)       # 6 vCPUs, 3072 MB
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        env.capacity(start, start + HOUR, amount=1, memory_mb=1025)
    assert env.violations() == []


@sqlite_only
def test_resource_properties_choose_the_hosts(capacity_env):
    env = capacity_env
    names = env.add_hypervisors(2, vcpus=4)
    gpu = int(env.enroll(names[0], gpu='yes')['id'])
    env.enroll(names[1])
    start = future()
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        env.capacity(start, start + HOUR, amount=5,
                     resource_properties='["==", "$gpu", "yes"]')
    lease = env.capacity(start, start + HOUR, amount=4,
                         resource_properties='["==", "$gpu", "yes"]')
    assert env.slices(lease) == {gpu: 4}
    with pytest.raises(exceptions.InvalidInput) as refused:
        env.capacity(start, start + HOUR, resource_properties='["==", "$gpus", "1"]')
    assert 'gpus' in str(refused.value)


@sqlite_only
@pytest.mark.parametrize('fields,error', [
    ({'vcpus': None}, 'vcpus'),
    ({'amount': 0}, 'amount'),
    ({'memory_mb': 'lots'}, 'memory_mb'),
    ({'affinity': 'maybe'}, 'affinity'),
    ({'resource_properties': '["=="'}, 'resource_properties'),
    ({'color': 'red'}, 'color'),
])
def test_bad_capacity_requests_are_400_naming_the_field(capacity_env, fields, error):
    env = capacity_env
    _hosts(env, 1)
    start = future()
    with pytest.raises(exceptions.ClimateException) as refused:
        env.capacity(start, start + HOUR, **fields)
    assert refused.value.code == 400
    assert error in str(refused.value)


@sqlite_only
def test_flavor_instance_reserves_the_size_of_the_flavor(capacity_env):
    env = capacity_env
    _hosts(env, 2, vcpus=4)
    env.driver.add_flavor('m1.big', 'm1.big', vcpus=3, ram=1024, disk=10,
                          extra_specs={'hw:cpu_policy': 'shared'})
    start = future()
    body = {'name': 'f', 'start_date': start.isoformat(),
            'end_date': (start + HOUR).isoformat(),
            'reservations': [{'resource_type': 'flavor:instance',
                              'flavor_id': 'm1.big', 'amount': 2, 'affinity': None}]}
    lease = env.service.create_lease(env.ctx, body)
    reservation = lease['reservations'][0]
    assert (reservation['vcpus'], reservation['memory_mb'], reservation['disk_gb'],
            reservation['flavor_id'], reservation['source_flavor_id']) == (
        3, 1024, 10, reservation['id'], 'm1.big')
    assert sorted(env.slices(lease).values()) == [1, 1]
    body['reservations'][0]['flavor_id'] = 'nope'
    with pytest.raises(exceptions.InvalidInput):
        env.service.create_lease(env.ctx, body)
    body['reservations'][0].update(flavor_id='m1.big', affinity=True)
    with pytest.raises(exceptions.InvalidInput):
        env.service.create_lease(env.ctx, body)


@sqlite_only
def test_a_host_holding_slices_cannot_be_deleted(capacity_env):
    env = capacity_env
    (host,) = _hosts(env, 1)
    start = future()
    env.capacity(start, start + HOUR, amount=1)
    with pytest.raises(exceptions.CantDeleteHost):
        env.plugin.delete_host(env.admin, str(host))


def test_a_long_slice_fills_windows_far_from_its_start(capacity_env, monkeypatch):
    """The searches read only the slices starting within the longest allocation
    before the window (climate.db.claims.bounded): a slice far longer than any
    before it still fills every window it spans, on the first search after it and in
    a process that has only seen short ones, for creates and updates alike."""
    monkeypatch.setattr(claims._Guess, 'value', datetime.timedelta(0))
    env = capacity_env
    _hosts(env, 1, vcpus=4)
    start = future()
    env.capacity(start, start + HOUR, amount=1)          # the longest so far
    short = env.capacity(start + 40 * DAY, start + 40 * DAY + HOUR, amount=1)
    env.capacity(start + HOUR, start + 30 * DAY, amount=4)
    later = start + 20 * DAY
    for guess in (datetime.timedelta(0), HOUR):
        monkeypatch.setattr(claims._Guess, 'value', guess)
        with pytest.raises(exceptions.NotEnoughHostsAvailable):
            env.capacity(later, later + HOUR, amount=1)
        with pytest.raises(exceptions.NotEnoughHostsAvailable):
            env.service.update_lease(env.ctx, short['id'], {
                'start_date': later.isoformat(), 'end_date': (later + HOUR).isoformat()})
        with pytest.raises(exceptions.NotEnoughHostsAvailable):
            env.create(later, later + HOUR, min=1)
    env.capacity(start + 30 * DAY, start + 30 * DAY + HOUR, amount=3)
    assert env.violations() == []
