"""Quotas on capacity reservations (``virtual:instance`` without ``resource_id`` and
``flavor:instance``): vcpus, memory and instances held at any instant of the window,
vcpu-hours per period, checked inside the claim under the project's lock like host
quotas; a refused create or update leaves nothing behind; concurrent creates of one
project never together pass a vcpus quota (MariaDB and PostgreSQL)."""

import concurrent.futures
import datetime

import pytest
import sqlalchemy as sa

from climate import exceptions
from climate.common import timeutils
from climate.db import models
from tests.functional.enforcement.test_rules import enforce
from tests.functional.enforcement.test_rules import refused
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import future

servers = pytest.mark.parametrize('database', ['mysql', 'postgresql'], indirect=True)


def stored(env):
    """``(leases, slices, vcpus sliced)`` in the database."""
    slices = models.CapacityAllocation.__table__
    with env.database.engine.connect() as conn:
        leases = conn.execute(sa.select(sa.func.count())
                              .select_from(models.Lease.__table__)).scalar()
        count, vcpus = conn.execute(sa.select(sa.func.count(),
                                              sa.func.sum(slices.c.vcpus))).one()
    return leases, count, int(vcpus or 0)


def vcpus_peak(env, project_id='p1'):
    """The project's most vcpus sliced at one instant, read from the slices."""
    s = models.CapacityAllocation.__table__
    r = models.Reservation.__table__
    lease = models.Lease.__table__
    with env.database.engine.connect() as conn:
        rows = conn.execute(sa.select(s.c.start_date, s.c.end_date, s.c.vcpus)
                            .select_from(s.join(r, s.c.reservation_id == r.c.id)
                                         .join(lease, r.c.lease_id == lease.c.id))
                            .where(lease.c.project_id == project_id)).all()
    return max((sum(v for b, e, v in rows if b <= t < e) for t, _e, _v in rows),
               default=0)


def test_vcpus_and_memory_on_create_and_update(capacity_env):
    env = capacity_env
    env.add_hypervisors(2, vcpus=16, memory_mb=32768, local_gb=500)
    for name in ('compute-0', 'compute-1'):
        env.enroll(name)
    enforce(env, 'QuotaFilter', quota_limits={'vcpus': '8', 'memory_mb': '8192'})
    start = future()
    first = env.capacity(start, start + 2 * HOUR, vcpus=2, amount=2)    # 4 vcpus
    before = stored(env)
    error = refused(env.capacity, start + HOUR, start + 3 * HOUR, vcpus=2, amount=3)
    assert error.kwargs['rule'] == 'QuotaFilter'
    assert error.kwargs['details'] == {
        'resource': 'vcpus', 'limit': 8, 'requested': 6, 'usage': 4,
        'start': timeutils.format_date(start + HOUR),
        'end': timeutils.format_date(start + 3 * HOUR)}
    assert 'Quota exceeded for vcpus' in error.message
    assert stored(env) == before
    # Memory is its own limit: 2 x 4096 MB on top of 1024 MB held.
    error = refused(env.capacity, start, start + HOUR, vcpus=1, memory_mb=4096,
                    amount=2)
    assert error.kwargs['details']['resource'] == 'memory_mb'
    assert error.kwargs['details']['usage'] == 1024
    assert stored(env) == before
    # Up to the limit is accepted; so is anything after the first lease ends.
    env.capacity(start + HOUR, start + 3 * HOUR, vcpus=2, amount=2)
    after = env.capacity(start + 2 * HOUR, start + 3 * HOUR, vcpus=1, amount=4)
    # Growing amount beyond the limit is refused and changes nothing.
    reservation = first['reservations'][0]['id']
    slices = env.slices(first)
    before = stored(env)
    with pytest.raises(exceptions.UsageLimitExceeded) as caught:
        env.service.update_lease(env.ctx, first['id'], {
            'reservations': [{'id': reservation, 'amount': 3}]})
    assert caught.value.code == 403
    assert caught.value.kwargs['details']['requested'] == 6
    assert caught.value.kwargs['details']['usage'] == 4
    assert env.slices(first) == slices and stored(env) == before
    shown = env.service.get_lease(env.ctx, first['id'])['reservations'][0]
    assert shown['amount'] == 2
    # Moving a lease onto busier hours is a new request too.
    with pytest.raises(exceptions.UsageLimitExceeded):
        env.service.update_lease(env.ctx, after['id'], {
            'start_date': (start + HOUR).isoformat(),
            'end_date': (start + 2 * HOUR).isoformat()})
    assert env.service.get_lease(env.ctx, after['id'])['start_date'] == \
        after['start_date']
    assert vcpus_peak(env) == 8


def test_vcpu_hours_flavor_instances_and_the_usage_report(capacity_env):
    env = capacity_env
    env.add_hypervisors(2, vcpus=16, memory_mb=32768, local_gb=500)
    for name in ('compute-0', 'compute-1'):
        env.enroll(name)
    enforce(env, 'QuotaFilter', usage_period='day',
            quota_limits={'vcpu_hours': '20', 'instances': '5'})
    env.driver.add_flavor('m1.small', 'm1.small', vcpus=2, ram=2048, disk=20)
    day = future(hours=24 * 20).replace(hour=0)
    env.capacity(day + 2 * HOUR, day + 4 * HOUR, vcpus=2, amount=2)     # 8 vcpu-h
    # flavor:instance counts as well: 3 instances of 2 vcpus for 2 hours is 12.
    env.service.create_lease(env.ctx, {
        'name': 'flavor', 'start_date': (day + 6 * HOUR).isoformat(),
        'end_date': (day + 8 * HOUR).isoformat(),
        'reservations': [{'resource_type': 'flavor:instance',
                          'flavor_id': 'm1.small', 'amount': 3}]})
    error = refused(env.capacity, day + 10 * HOUR, day + 11 * HOUR)
    assert error.kwargs['details'] == {
        'resource': 'vcpu_hours', 'limit': 20, 'requested': 1, 'usage': 20,
        'start': timeutils.format_date(day),
        'end': timeutils.format_date(day + 24 * HOUR)}
    error = refused(env.capacity, day + 30 * HOUR, day + 31 * HOUR, amount=6)
    assert error.kwargs['details']['resource'] == 'instances'
    report = env.service.get_usage(env.ctx, 'p1', day.isoformat(),
                                    (day + 24 * HOUR).isoformat())['resources']
    assert report['instances'] == {'usage': 3, 'limit': 5}
    assert report['vcpus'] == {'usage': 6, 'limit': None}
    assert report['memory_mb'] == {'usage': 6144, 'limit': None}
    assert report['vcpu_hours']['limit'] == 20
    assert report['vcpu_hours']['periods'][0]['usage'] == 20
    assert report['instance_hours']['periods'][0]['usage'] == 10


@servers
def test_concurrent_capacity_creates_of_one_project_never_pass_its_vcpus(
        capacity_env):
    env = capacity_env
    creates, quota = 12, 10
    env.add_hypervisors(creates, vcpus=4, memory_mb=8192, local_gb=100)
    for i in range(creates):
        env.enroll(f'compute-{i}')
    enforce(env, 'QuotaFilter', quota_limits={'vcpus': str(quota)})
    env.conf.set_override('claim_retries', 50, group='manager')
    start = future()

    def create(index):
        # Windows overlap pairwise at start + 1h: every lease counts against all.
        # Each create asks for its own host, so no two claims meet on a host row:
        # only the project's lock orders them.
        begin = start + datetime.timedelta(minutes=index)
        try:
            env.capacity(begin, begin + 2 * HOUR, name=f'race-{index}', vcpus=2,
                         resource_properties=f'["=", "$hypervisor_hostname", '
                                             f'"compute-{index}"]')
            return 'created'
        except exceptions.UsageLimitExceeded:
            return 'refused'

    with concurrent.futures.ThreadPoolExecutor(max_workers=creates) as pool:
        outcomes = list(pool.map(create, range(creates)))
    assert outcomes.count('created') == quota // 2, outcomes
    assert outcomes.count('refused') == creates - quota // 2, outcomes
    assert vcpus_peak(env) == quota
