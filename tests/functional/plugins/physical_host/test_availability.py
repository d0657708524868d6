"""The availability search and the earliest-fit create with the real physical:host
plugin inside an in-process lease service, on each backend: what the search answers
is what a create then gets, and racing earliest-fit creates never share a host."""

import concurrent.futures
import datetime

import pytest

from climate import exceptions
from climate.manager import availability
from tests.functional.plugins.physical_host.conftest import HOUR
from tests.functional.plugins.physical_host.conftest import future
from tests.functional.plugins.physical_host.conftest import overlapping_pairs


def _text(value):
    return value.isoformat()


def _search(env, start, end, duration_hours, ctx=None, **fields):
    service = availability.Availability(lambda rt: env.service.plugins[rt])
    query = dict(fields, duration=duration_hours * 60, start_after=_text(start),
                 end_before=_text(end))
    return service.find(ctx or env.ctx, query, show_hosts=True)


def _earliest(env, start, end, duration_hours, ctx=None, name='early', **fields):
    fields.setdefault('min', 1)
    fields.setdefault('max', fields['min'])
    body = {'name': name,
            'earliest': {'duration': duration_hours * 60, 'start_after': _text(start),
                         'end_before': _text(end)},
            'reservations': [dict(fields, resource_type='physical:host')]}
    return env.service.create_lease(ctx or env.ctx, body)


def _date(text):
    """A date as the API shows it (Blazar's format, UTC without an offset)."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc)


def test_the_search_finds_what_a_create_then_gets(hosts_env):
    env = hosts_env
    env.enroll_many(2, gpu='0')
    gpu = env.enroll(env.add_hypervisors(1, prefix='gpu')[0], gpu='1')
    base = future()
    env.create(base, base + 4 * HOUR, min=2, resource_properties='["==", "$gpu", "0"]')
    env.create(base, base + 2 * HOUR, min=1, resource_properties='["==", "$gpu", "1"]')
    found = _search(env, base, base + 24 * HOUR, 3, min=2)
    windows = found['windows']
    # From base+2h the gpu host alone is free; from base+4h all three are.
    assert [(_date(w['start_date']), w['free']) for w in windows] == [
        (base + 4 * HOUR, 3)]
    assert len(windows[0]['hosts']) == 3
    found = _search(env, base, base + 24 * HOUR, 3, min=1,
                    resource_properties='["==", "$gpu", "1"]')
    first = found['windows'][0]
    assert (_date(first['start_date']), first['free']) == (base + 2 * HOUR, 1)
    assert [h['id'] for h in first['hosts']] == [gpu['id']]
    lease = _earliest(env, base, base + 24 * HOUR, 3,
                      resource_properties='["==", "$gpu", "1"]')
    assert _date(lease['start_date']) == base + 2 * HOUR
    assert _date(lease['end_date']) == base + 5 * HOUR
    assert env.allocated_hosts(lease) == [int(gpu['id'])]


def test_no_window_in_the_range_is_a_409_and_bad_searches_are_400(hosts_env):
    env = hosts_env
    env.enroll_many(1)
    base = future()
    env.create(base, base + 10 * HOUR)
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        _earliest(env, base, base + 12 * HOUR, 3)
    assert _search(env, base, base + 12 * HOUR, 3)['windows'] == []
    with pytest.raises(exceptions.InvalidInput, match='duration'):
        _search(env, base, base + 12 * HOUR, 0)
    with pytest.raises(exceptions.InvalidInput, match='Unknown host property'):
        _search(env, base, base + 12 * HOUR, 1, resource_properties='["==", "$x", "1"]')
    with pytest.raises(exceptions.InvalidInput, match='end_before'):
        _search(env, base, base - HOUR, 1)


def test_racing_earliest_creates_never_share_a_host_and_all_get_a_window(
        migrated_database, host_conf):
    """Twelve threads ask for the earliest 2-hour window of one host among three:
    each gets one, none overlaps another on a host (each lost race searched again)."""
    from climate.compute import memory
    from tests.functional.plugins.physical_host.conftest import HostsEnv
    host_conf.set_override('claim_retries', 30, group='manager')
    env = HostsEnv(migrated_database, host_conf, memory.MemoryDriver(host_conf))
    try:
        env.enroll_many(3)
        base = future()

        def run(index):
            try:
                return _earliest(env, base, base + 48 * HOUR, 2, name=f'race-{index}')
            except Exception as exc:
                return f'{type(exc).__name__}: {exc}'

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            leases = list(pool.map(run, range(12)))
        failures = [lease for lease in leases if isinstance(lease, str)]
        assert failures == []
        assert overlapping_pairs(migrated_database.engine) == []
        starts = sorted(_date(lease['start_date']) for lease in leases)
        # Three hosts: the twelve leases fill four 2-hour slots back to back.
        assert starts == [base + 2 * HOUR * (i // 3) for i in range(12)]
    finally:
        env.close()


def test_earliest_refuses_dates_and_several_reservations(hosts_env):
    env = hosts_env
    env.enroll_many(1)
    base = future()
    body = {'name': 'x', 'start_date': _text(base),
            'earliest': {'duration': 60, 'start_after': _text(base)},
            'reservations': [{'resource_type': 'physical:host', 'min': 1, 'max': 1}]}
    with pytest.raises(exceptions.InvalidInput, match='start_date cannot be given'):
        env.service.create_lease(env.ctx, body)
    del body['start_date']
    body['reservations'] *= 2
    with pytest.raises(exceptions.InvalidInput, match='exactly one reservation'):
        env.service.create_lease(env.ctx, body)


def test_busy_shows_own_lease_ids_and_anonymous_blocks(hosts_env):
    from climate import context as climate_context
    env = hosts_env
    env.enroll_many(1)
    base = future()
    mine = env.create(base, base + HOUR)
    other = climate_context.RequestContext(user_id='u2', project_id='p2',
                                           roles=['member'])
    theirs = env.create(base + 2 * HOUR, base + 3 * HOUR, ctx=other)
    service = availability.Availability(lambda rt: env.service.plugins[rt])
    query = {'start': _text(base - HOUR), 'end': _text(base + 5 * HOUR)}
    member = service.busy(env.ctx, query)
    [host] = member['hosts']
    assert 'hypervisor_hostname' not in host
    assert [(b['lease_id'], b['own']) for b in host['busy']] == [
        (mine['id'], True), (None, False)]
    admin = service.busy(env.admin, query, see_all=True)
    assert [b['lease_id'] for b in admin['hosts'][0]['busy']] == [mine['id'],
                                                                 theirs['id']]
    assert admin['hosts'][0]['hypervisor_hostname'] == 'compute-0'
