"""Quotas over time: hosts held at any instant of the window and host-hours per
period, checked inside the claim; concurrent creates of one project racing one quota
never together pass it (each backend)."""

import concurrent.futures
import datetime

import pytest
import sqlalchemy as sa

from climate import exceptions
from climate.common import timeutils
from climate.db import models
from tests.functional.enforcement.test_rules import enforce
from tests.functional.enforcement.test_rules import refused
from tests.functional.enforcement.test_rules import unchanged
from tests.functional.enforcement.test_rules import update
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import future


def hosts_held(env, project_id='p1'):
    """The project's peak of hosts held at one instant, read from the allocations."""
    a = models.ComputeHostAllocation.__table__
    r = models.Reservation.__table__
    lease = models.Lease.__table__
    with env.database.engine.connect() as conn:
        rows = conn.execute(sa.select(a.c.start_date, a.c.end_date)
                            .select_from(a.join(r, a.c.reservation_id == r.c.id)
                                         .join(lease, r.c.lease_id == lease.c.id))
                            .where(lease.c.project_id == project_id)).all()
    instants = {s for s, _e in rows}
    return max((sum(1 for s, e in rows if s <= t < e) for t in instants), default=0)


def test_hosts_at_any_instant_on_create_and_update(hosts_env):
    env = hosts_env
    env.enroll_many(6)
    enforce(env, 'QuotaFilter', quota_limits={'hosts': '3'})
    start = future()
    first = env.create(start, start + 2 * HOUR, min=2)
    error = refused(env.create, start + HOUR, start + 3 * HOUR, min=2)
    assert error.kwargs['rule'] == 'QuotaFilter'
    assert error.kwargs['details'] == {
        'resource': 'hosts', 'limit': 3, 'requested': 2, 'usage': 2,
        'start': timeutils.format_date(start + HOUR),
        'end': timeutils.format_date(start + 3 * HOUR)}
    assert 'Quota exceeded for hosts' in error.message
    # One more host fits; so does any number after the first lease.
    env.create(start + HOUR, start + 3 * HOUR, min=1)
    after = env.create(start + 3 * HOUR, start + 4 * HOUR, min=3)
    # Moving a lease onto busier hours is a new request.
    refused(update, env, after, start_date=start + HOUR, end_date=start + 4 * HOUR)
    assert unchanged(env, after)
    refused(update, env, first, end_date=start + 4 * HOUR)
    assert unchanged(env, first)
    assert hosts_held(env) == 3


def test_host_hours_per_period(hosts_env):
    env = hosts_env
    env.enroll_many(4)
    enforce(env, 'QuotaFilter', quota_limits={'host_hours': '10'}, usage_period='day')
    day = future(hours=24 * 20).replace(hour=0)
    env.create(day + 2 * HOUR, day + 6 * HOUR, min=2)          # 8 host-hours
    error = refused(env.create, day + 10 * HOUR, day + 13 * HOUR)   # 3 more
    assert error.kwargs['details']['resource'] == 'host_hours'
    assert error.kwargs['details']['usage'] == 8
    assert error.kwargs['details']['requested'] == 3
    env.create(day + 10 * HOUR, day + 12 * HOUR)               # 2 more: 10
    # The next day is another period; a lease across midnight counts in both.
    lease = env.create(day + 30 * HOUR, day + 40 * HOUR)
    refused(update, env, lease, start_date=day + 23 * HOUR, end_date=day + 40 * HOUR)
    assert unchanged(env, lease)


def test_exempt_projects_and_unlimited(hosts_env):
    env = hosts_env
    env.enroll_many(3)
    enforce(env, 'QuotaFilter', quota_limits={'hosts': '1', 'host_hours': '-1'},
            exempt_project_ids=['p1'])
    start = future()
    env.create(start, start + HOUR, min=3)


def test_usage_report(hosts_env):
    env = hosts_env
    env.enroll_many(4)
    enforce(env, 'QuotaFilter', quota_limits={'hosts': '3', 'host_hours': '100'},
            usage_period='day')
    day = future(hours=24 * 20).replace(hour=0)
    env.create(day + 2 * HOUR, day + 6 * HOUR, min=2)
    env.create(day + 4 * HOUR, day + 5 * HOUR, min=1)
    report = env.service.get_usage(env.ctx, 'p1', day.isoformat(),
                                    (day + 24 * HOUR).isoformat())
    assert report['resources']['hosts'] == {'usage': 3, 'limit': 3}
    assert report['resources']['host_hours'] == {
        'limit': 100, 'periods': [{'start': timeutils.format_date(day),
                                   'end': timeutils.format_date(day + 24 * HOUR),
                                   'usage': 9}]}


@pytest.mark.parametrize('quota', [5])
def test_concurrent_creates_of_one_project_never_pass_its_quota(hosts_env, quota):
    env = hosts_env
    env.enroll_many(20)
    enforce(env, 'QuotaFilter', quota_limits={'hosts': str(quota)})
    env.conf.set_override('claim_retries', 50, group='manager')
    start = future()

    def create(index):
        # Windows overlap pairwise at start + 1h: every lease counts against all.
        begin = start + datetime.timedelta(minutes=index)
        try:
            env.create(begin, begin + 2 * HOUR, name=f'race-{index}')
            return 'created'
        except exceptions.UsageLimitExceeded:
            return 'refused'

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(create, range(20)))
    assert outcomes.count('created') == quota
    assert outcomes.count('refused') == 20 - quota
    assert hosts_held(env) == quota
