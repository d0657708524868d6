"""Each usage-policy rule on create and on update: the 403 naming the limit, the
exemptions, and a refused change leaving the lease as it was."""

import datetime

import pytest

from climate import context as climate_context
from climate import exceptions
from climate.common import timeutils
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import future


def enforce(env, *filters, **options):
    env.conf.set_override('enabled_filters', list(filters), group='enforcement')
    for name, value in options.items():
        env.conf.set_override(name, value, group='enforcement')


def update(env, lease, ctx=None, **dates):
    body = {k: v.isoformat() for k, v in dates.items()}
    return env.service.update_lease(ctx or env.ctx, lease['id'], body)


def refused(call, *args, **kwargs):
    with pytest.raises(exceptions.UsageLimitExceeded) as caught:
        call(*args, **kwargs)
    assert caught.value.code == 403
    return caught.value


def unchanged(env, lease):
    now = env.service.get_lease(env.ctx, lease['id'])
    return (now['start_date'], now['end_date'], now['status']) == \
        (lease['start_date'], lease['end_date'], 'PENDING')


def other_project():
    return climate_context.RequestContext(user_id='u2', project_id='p2',
                                          roles=['member'])


def test_max_lease_duration_on_create_update_and_exemption(hosts_env):
    env = hosts_env
    env.enroll_many(2)
    enforce(env, 'MaxLeaseDurationFilter', max_lease_duration=2 * 3600,
            max_lease_duration_exempt_project_ids=['p2'])
    start = future()
    error = refused(env.create, start, start + 3 * HOUR)
    assert 'max_lease_duration' in error.message and '7200' in error.message
    assert error.kwargs['rule'] == 'MaxLeaseDurationFilter'
    lease = env.create(start, start + 2 * HOUR)
    # A prolongation is a new request: refused past the limit, the lease kept.
    refused(update, env, lease, end_date=start + 3 * HOUR)
    assert unchanged(env, lease)
    update(env, lease, end_date=start + HOUR)
    assert env.create(start + 5 * HOUR, start + 9 * HOUR, ctx=other_project())


def test_max_lead_time_on_create_and_update(hosts_env):
    env = hosts_env
    env.enroll_many(1)
    enforce(env, 'MaxLeadTimeFilter', max_lead_time=48)
    soon = future(hours=24)
    error = refused(env.create, future(hours=72), future(hours=73))
    assert 'max_lead_time' in error.message
    lease = env.create(soon, soon + HOUR)
    refused(update, env, lease, start_date=future(hours=60), end_date=future(hours=61))
    assert unchanged(env, lease)
    # Prolonging without moving the start is not about lead time.
    update(env, lease, end_date=soon + 3 * HOUR)
    env.conf.set_override('exempt_project_ids', ['p1'], group='enforcement')
    assert env.create(future(hours=72), future(hours=73))


def test_an_earliest_fit_create_is_held_to_the_lead_time_of_the_window_it_gets(
        hosts_env):
    env = hosts_env
    env.enroll_many(1)
    enforce(env, 'MaxLeadTimeFilter', max_lead_time=48)
    soon = future(hours=1)
    env.create(soon, future(hours=60))   # the only host is busy for 60 hours

    def earliest(start_after, end_before):
        return env.service.create_lease(env.ctx, {
            'name': 'early',
            'earliest': {'duration': 60, 'start_after': start_after.isoformat(),
                         'end_before': end_before.isoformat()},
            'reservations': [{'resource_type': 'physical:host', 'min': 1, 'max': 1}]})

    # The range starts within the lead time, the first free window does not.
    error = refused(earliest, soon, future(hours=24 * 5))
    assert 'max_lead_time' in error.message
    with env.database.engine.connect() as conn:
        assert conn.exec_driver_sql('SELECT count(*) FROM leases').scalar() == 1
    # Exempt, the same request gets the window after the busy one.
    env.conf.set_override('exempt_project_ids', ['p1'], group='enforcement')
    lease = earliest(soon, future(hours=24 * 5))
    assert lease['start_date'] >= timeutils.format_date(future(hours=60))


def test_extension_window_and_maximum_extension(hosts_env):
    env = hosts_env
    env.enroll_many(2)
    enforce(env, 'ExtensionWindowFilter', extension_window=24, max_extension=4)
    far = future(hours=24 * 10)
    distant = env.create(far, far + HOUR)
    error = refused(update, env, distant, end_date=far + 2 * HOUR)
    assert 'extension_window' in error.message
    assert unchanged(env, distant)
    # Shortening is not a prolongation.
    update(env, distant, end_date=far + HOUR / 2)
    near = future(hours=2)
    ending = env.create(near, near + HOUR)
    error = refused(update, env, ending, end_date=near + 6 * HOUR)
    assert 'max_extension' in error.message and '5 hours' in error.message
    assert unchanged(env, ending)
    assert update(env, ending, end_date=near + 5 * HOUR)['end_date'] == \
        timeutils.format_date(near + 5 * HOUR)


def test_max_concurrent_leases_on_create_and_update(hosts_env):
    env = hosts_env
    env.enroll_many(4)
    enforce(env, 'MaxConcurrentLeasesFilter', max_concurrent_leases=2)
    start = future()
    env.create(start, start + 2 * HOUR)
    env.create(start + HOUR, start + 3 * HOUR)
    # [start, start+1h) meets only the first lease: two at a time.
    env.create(start, start + HOUR)
    error = refused(env.create, start + HOUR, start + 2 * HOUR)
    assert 'max_concurrent_leases' in error.message
    assert error.kwargs['details'] == {'limit': 2, 'usage': 2, 'requested': 1}
    later = env.create(start + 10 * HOUR, start + 11 * HOUR)
    refused(update, env, later, start_date=start + HOUR / 2,
            end_date=start + 11 * HOUR)
    assert unchanged(env, later)
    # Another project counts on its own.
    env.create(start, start + HOUR, ctx=other_project())


def test_no_filter_enabled_changes_nothing(hosts_env):
    env = hosts_env
    env.enroll_many(1)
    start = future(hours=24 * 365)
    lease = env.create(start, start + 24 * 100 * HOUR)
    assert update(env, lease, end_date=start + 24 * 200 * HOUR)


def test_a_rule_refuses_before_any_capacity_is_claimed(hosts_env):
    env = hosts_env
    env.enroll_many(1)
    enforce(env, 'MaxLeaseDurationFilter', max_lease_duration=60)
    start = future()
    refused(env.create, start, start + datetime.timedelta(minutes=2))
    assert env.service.list_leases(env.admin) == []
