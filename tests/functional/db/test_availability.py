"""The availability search (climate.db.availability) against a brute-force
computation, on randomised hosts and allocations, on each backend: the SQL side
(which hosts match, which allocations are in range) with the sweep."""

import datetime
import itertools

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import sqlalchemy as sa

from climate.db import api as db_api
from climate.db import availability
from climate.db import host_health
from climate.db import host_search
from climate.db import hosts as host_db
from climate.db import models
from climate.plugins.physical_host import requirements
from tests.functional.db.test_host_search import _Ctx
from tests.unit.db.test_availability_sweep import brute_force

HOUR = datetime.timedelta(hours=1)
T0 = datetime.datetime(2031, 1, 1, tzinfo=datetime.timezone.utc)
GPU = '["==", "$gpu", "1"]'
_names = itertools.count()


def _enroll(reservable, gpu):
    context = _Ctx()
    values = {'gpu': ('1' if gpu else '0', 1.0 if gpu else 0.0)}
    ids = host_db.ensure_properties(context, 'physical:host', values)
    inventory = dict.fromkeys(host_db.INVENTORY_COLUMNS)
    name = f'compute-{next(_names)}'
    inventory.update(hypervisor_hostname=name, service_name=name, vcpus=4,
                     memory_mb=1024, local_gb=10)
    host_id = host_db.create(context, inventory, values, ids)
    if not reservable:
        _write(lambda s: s.execute(sa.update(models.ComputeHost.__table__)
                                   .where(models.ComputeHost.id == host_id)
                                   .values(reservable=False)))
    return host_id


def _write(action):
    context = _Ctx()
    with db_api.writer.using(context):
        action(context.session)


def _allocate(host_id, start, end, project='p1'):
    def add(session):
        lease = models.Lease(name='l', project_id=project, user_id='u',
                             start_date=start, end_date=end, status='PENDING',
                             degraded=False)
        session.add(lease)
        session.flush()
        reservation = models.Reservation(lease_id=lease.id,
                                         resource_type='physical:host',
                                         status='pending')
        session.add(reservation)
        session.flush()
        session.add(models.ComputeHostAllocation(
            compute_host_id=host_id, reservation_id=reservation.id,
            start_date=start, end_date=end))
    _write(add)


def _clear():
    def clear(session):
        for model in (models.HostMaintenance, models.ComputeHostAllocation,
                      models.Reservation, models.Lease,
                      models.ComputeHostExtraCapability, models.ComputeHost):
            session.execute(sa.delete(model))
    _write(clear)


def _clauses(text):
    return [host_search.requirement_clause(r, 'physical:host',
                                           requirements.NUMERIC_FIELDS,
                                           requirements.TEXT_FIELDS)
            for r in requirements.parse('resource_properties', text)]


host_spec = st.tuples(st.booleans(), st.booleans(),  # reservable, gpu
                      st.lists(st.tuples(st.integers(0, 30), st.integers(1, 8)),
                               max_size=5))


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(hosts=st.lists(host_spec, min_size=1, max_size=5),
       duration=st.integers(1, 10), start=st.integers(0, 10), span=st.integers(4, 48),
       minimum=st.integers(1, 3), cleaning=st.integers(0, 2), gpu=st.booleans(),
       limit=st.integers(1, 6))
def test_windows_match_brute_force(migrated_database, hosts, duration, start, span,
                                   minimum, cleaning, gpu, limit):
    _clear()
    eligible, allocations = [], []
    for reservable, has_gpu, busy in hosts:
        host_id = _enroll(reservable, has_gpu)
        if reservable and (has_gpu or not gpu):
            eligible.append(host_id)
        for offset, length in busy:
            lo, hi = T0 + offset * HOUR, T0 + (offset + length) * HOUR
            _allocate(host_id, lo, hi)
            allocations.append((host_id, lo, hi))
    args = (duration * HOUR, T0 + start * HOUR, T0 + (start + span) * HOUR, minimum,
            limit, cleaning * HOUR)
    found = availability.find_windows(_Ctx(), _clauses(GPU if gpu else ''), *args)
    expected = brute_force(eligible, allocations, *args)
    assert [(w.start, w.end, w.free, w.hosts) for w in found] == expected


def test_busy_lists_only_the_range_and_names_the_leases(migrated_database):
    first, second = _enroll(True, True), _enroll(True, False)
    _allocate(first, T0, T0 + HOUR, project='mine')
    _allocate(first, T0 + 10 * HOUR, T0 + 12 * HOUR, project='theirs')
    _allocate(second, T0 + 50 * HOUR, T0 + 60 * HOUR)
    hosts, busy = availability.busy_in_range(_Ctx(), [], T0 + HOUR / 2,
                                             T0 + 11 * HOUR)
    assert [h.host_id for h in hosts] == [first, second]
    assert [(b.host_id, b.start, b.project_id) for b in busy] == [
        (first, T0, 'mine'), (first, T0 + 10 * HOUR, 'theirs')]
    hosts, busy = availability.busy_in_range(_Ctx(), _clauses(GPU), T0, T0 + 100 * HOUR)
    assert [h.host_id for h in hosts] == [first] and len(busy) == 2


def test_maintenance_and_down_hosts_are_busy_and_never_offered(migrated_database):
    _clear()
    kept, down, free = _enroll(True, False), _enroll(True, False), _enroll(True, False)
    context = _Ctx()
    with db_api.writer.using(context):
        host_health.insert_maintenance(context, kept, T0 + 2 * HOUR, T0 + 6 * HOUR,
                                       'firmware')
    host_health.mark_down(_Ctx(), down, 'no heartbeat')
    _allocate(free, T0, T0 + 8 * HOUR)
    hosts, busy = availability.busy_in_range(_Ctx(), [], T0, T0 + 10 * HOUR)
    assert [(b.host_id, b.kind, b.lease_id, b.reason, b.start) for b in busy] == [
        (kept, 'maintenance', None, 'firmware', T0 + 2 * HOUR),
        (free, 'lease', busy[1].lease_id, None, T0)]
    # Two hours, with an hour of cleaning: the host in maintenance only once its
    # window (widened by the cleaning hour) is over, though it is free before 01:00;
    # the down host, free all along, never.
    found = availability.find_windows(_Ctx(), [], 2 * HOUR, T0, T0 + 12 * HOUR, 1, 3,
                                      HOUR)
    assert [(w.start, w.hosts) for w in found] == [
        (T0 + 7 * HOUR, (kept,)), (T0 + 9 * HOUR, (kept, free))]
