"""Two transactions racing for one host, on MariaDB and PostgreSQL: the second,
whose search read the host before the first committed, keeps the host when the first
took another window (or, for slices of it, left room enough), and starts over when
the first took an overlapping window, a long allocation reaching into its own, the
room it wanted, or the host itself (climate.db.host_search.claim_free,
climate.db.capacity_search.claim_room); when the second is an update, what its own
reservation holds does not count against it in that second check. (SQLite runs one
writer at a time, so the two cannot overlap there.)"""

import datetime
import functools
import threading
import uuid

from oslo_db.sqlalchemy import enginefacade
import pytest
import sqlalchemy as sa

from climate import exceptions
from climate.db import api as db_api
from climate.db import capacity_allocations
from climate.db import capacity_search
from climate.db import host_allocations
from climate.db import host_search
from climate.db import models

pytestmark = pytest.mark.parametrize('database', ['mysql', 'postgresql'],
                                     indirect=True)

H = models.ComputeHost.__table__
A = models.ComputeHostAllocation.__table__
S = models.CapacityAllocation.__table__
HOUR = datetime.timedelta(hours=1)
START = datetime.datetime(2031, 1, 1, tzinfo=datetime.timezone.utc)
MINE = (START, START + HOUR)


@enginefacade.transaction_context_provider
class _Ctx:
    """A transaction context with ``session`` (as Climate's RequestContext has)."""


def _setup(engine):
    """One reservable host and two reservations to allocate it to."""
    now = datetime.datetime.now(datetime.timezone.utc)
    reservations = [str(uuid.uuid4()), str(uuid.uuid4())]
    with engine.begin() as conn:
        host = conn.execute(sa.insert(H).values(
            hypervisor_hostname='compute-1', service_name='compute-1',
            reservable=True, generation=0, vcpus=4, memory_mb=4096, local_gb=40,
            created_at=now)).inserted_primary_key[0]
        for reservation_id in reservations:
            lease_id = str(uuid.uuid4())
            conn.execute(sa.insert(models.Lease.__table__).values(
                id=lease_id, name='race', project_id='p', start_date=START,
                end_date=START + HOUR, status='PENDING', degraded=False,
                created_at=now))
            conn.execute(sa.insert(models.Reservation.__table__).values(
                id=reservation_id, lease_id=lease_id, resource_type='physical:host',
                status='pending', missing_resources=False, resources_changed=False,
                created_at=now))
    return host, reservations


def _whole(context, host, reservation_id, window, between=lambda: None,
           update=False):
    """Search, claim and allocate the host whole: what a 1-host create does
    (``between`` runs after the search); with ``update``, search and claim it for a
    reservation that holds it already (a host update, whose own allocation does not
    count against it), keeping its own allocation."""
    own = reservation_id if update else None
    found = host_search.find_free_hosts(context, *window, [], 1,
                                        exclude_reservation=own)
    assert [c.host_id for c in found] == [host]
    between()
    host_search.claim_free(context, found, *window, [], exclude_reservation=own)
    if not update:
        host_allocations.insert(context, reservation_id, [host], *window)


def _sliced(vcpus, update=False):
    """Search, claim and write a slice of ``vcpus`` of the host: a capacity create;
    with ``update``, search and claim it for a reservation that holds one already
    (a capacity update, whose own slices do not count against it), keeping its own."""
    def take(context, host, reservation_id, window, between=lambda: None):
        own = reservation_id if update else None
        size = capacity_search.Size(vcpus, 0, 0)
        rooms = capacity_search.find_room(context, *window, size,
                                          exclude_reservation=own)
        placement = capacity_search.place(rooms, 1, None)
        assert placement == {host: 1}
        between()
        capacity_search.claim_room(context, rooms, placement, size, *window,
                                   exclude_reservation=own)
        if not update:
            capacity_allocations.insert(context, reservation_id, placement, size,
                                        *window)
    return take


def _race(engine, first, hold_lock, second_takes=_whole, held=None):
    """The second transaction searches; ``first(host, reservation_id)`` then changes
    the host in a transaction of its own, which commits before the second claims
    (``hold_lock`` False) or while the second's claim waits for its lock (True).
    With ``held`` (a number of vCPUs, or ``'whole'``), the second's reservation
    holds a slice of the host or the whole host in its window before the race.
    Returns the second's outcome."""
    host, (theirs, mine) = _setup(engine)
    if held:
        context = _Ctx()
        with db_api.writer.using(context):
            if held == 'whole':
                host_allocations.insert(context, mine, [host], *MINE)
            else:
                capacity_allocations.insert(context, mine, {host: 1},
                                            capacity_search.Size(held, 0, 0), *MINE)
    searched, first_written = threading.Event(), threading.Event()
    outcome = {}

    def between():
        searched.set()
        first_written.wait(10)

    def second():
        context = _Ctx()
        try:
            with db_api.writer.using(context):
                second_takes(context, host, mine, MINE, between)
            outcome['second'] = 'claimed'
        except exceptions.ClaimConflict:
            outcome['second'] = 'conflict'

    thread = threading.Thread(target=second)
    thread.start()
    assert searched.wait(10)
    context = _Ctx()
    with db_api.writer.using(context):
        first(context, host, theirs)
        if hold_lock:
            first_written.set()
            # Commit only once the second's claim had time to block on the row.
            threading.Event().wait(0.5)
    first_written.set()
    thread.join(30)
    return outcome.get('second')


def _claimed(window, takes=_whole):
    def first(context, host, reservation_id):
        takes(context, host, reservation_id, window)
    return first


def _allocations(engine):
    with engine.connect() as conn:
        return sorted((row.start_date.replace(tzinfo=None), row.end_date.replace(
            tzinfo=None)) for row in conn.execute(sa.select(A.c.start_date,
                                                            A.c.end_date)))


def _naive(*dates):
    return [d.replace(tzinfo=None) for d in dates]


@pytest.mark.parametrize('hold_lock', [False, True], ids=['committed', 'waiting'])
def test_a_claim_in_another_window_keeps_the_host(migrated_database, hold_lock):
    later = (START + 3 * HOUR, START + 4 * HOUR)
    assert _race(migrated_database.engine, _claimed(later), hold_lock) == 'claimed'
    assert _allocations(migrated_database.engine) == [
        tuple(_naive(*MINE)), tuple(_naive(*later))]


@pytest.mark.parametrize('hold_lock', [False, True], ids=['committed', 'waiting'])
def test_a_claim_of_an_overlapping_window_wins(migrated_database, hold_lock):
    overlapping = (START + HOUR / 2, START + 2 * HOUR)
    assert _race(migrated_database.engine, _claimed(overlapping),
                 hold_lock) == 'conflict'
    assert _allocations(migrated_database.engine) == [tuple(_naive(*overlapping))]


def test_a_long_allocation_reaching_into_the_window_wins(migrated_database):
    """Committed meanwhile, it is longer than any allocation the second transaction's
    search bounded its reads by."""
    long = (START - 30 * 24 * HOUR, START + HOUR / 2)
    assert _race(migrated_database.engine, _claimed(long), False) == 'conflict'
    assert _allocations(migrated_database.engine) == [tuple(_naive(*long))]


@pytest.mark.parametrize('change', [{'status': 'down'}, {'reservable': False}],
                         ids=['down', 'not-reservable'])
def test_a_host_changed_meanwhile_is_checked_as_the_search_checked_it(
        migrated_database, change):
    def first(context, host, reservation_id):
        context.session.execute(sa.update(H).where(H.c.id == host).values(
            generation=H.c.generation + 1, **change))
    assert _race(migrated_database.engine, first, False) == 'conflict'
    assert _allocations(migrated_database.engine) == []


def _slices(engine):
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(S.c.vcpus)).scalars())


@pytest.mark.parametrize('hold_lock', [False, True], ids=['committed', 'waiting'])
def test_a_slice_that_leaves_room_keeps_the_host(migrated_database, hold_lock):
    """The first takes 2 of the host's 4 vCPUs in the same window, the second 2."""
    assert _race(migrated_database.engine, _claimed(MINE, _sliced(2)), hold_lock,
                 second_takes=_sliced(2)) == 'claimed'
    assert _slices(migrated_database.engine) == [2, 2]


@pytest.mark.parametrize('hold_lock', [False, True], ids=['committed', 'waiting'])
def test_a_slice_that_leaves_no_room_wins(migrated_database, hold_lock):
    assert _race(migrated_database.engine, _claimed(MINE, _sliced(3)), hold_lock,
                 second_takes=_sliced(2)) == 'conflict'
    assert _slices(migrated_database.engine) == [3]


def test_a_long_slice_reaching_into_the_window_wins(migrated_database):
    long = (START - 30 * 24 * HOUR, START + HOUR / 2)
    assert _race(migrated_database.engine, _claimed(long, _sliced(3)), False,
                 second_takes=_sliced(2)) == 'conflict'
    assert _slices(migrated_database.engine) == [3]


@pytest.mark.parametrize('hold_lock', [False, True], ids=['committed', 'waiting'])
def test_slices_and_whole_hosts_see_each_other(migrated_database, hold_lock):
    """A slice claimed meanwhile makes a whole-host claim start over, and the other
    way round."""
    assert _race(migrated_database.engine, _claimed(MINE, _sliced(1)), hold_lock,
                 second_takes=_whole) == 'conflict'
    assert (_slices(migrated_database.engine), _allocations(
        migrated_database.engine)) == ([1], [])


@pytest.mark.parametrize('hold_lock', [False, True], ids=['committed', 'waiting'])
def test_a_whole_host_claim_takes_the_room_of_a_slice(migrated_database, hold_lock):
    assert _race(migrated_database.engine, _claimed(MINE), hold_lock,
                 second_takes=_sliced(1)) == 'conflict'
    assert (_slices(migrated_database.engine), _allocations(
        migrated_database.engine)) == ([], [tuple(_naive(*MINE))])


def test_a_slice_in_another_window_keeps_the_host(migrated_database):
    later = (START + 3 * HOUR, START + 4 * HOUR)
    assert _race(migrated_database.engine, _claimed(later, _sliced(4)), False,
                 second_takes=_sliced(4)) == 'claimed'
    assert _slices(migrated_database.engine) == [4, 4]


@pytest.mark.parametrize('change', [{'status': 'down'}, {'reservable': False}],
                         ids=['down', 'not-reservable'])
def test_a_host_changed_meanwhile_gets_no_slice(migrated_database, change):
    def first(context, host, reservation_id):
        context.session.execute(sa.update(H).where(H.c.id == host).values(
            generation=H.c.generation + 1, **change))
    assert _race(migrated_database.engine, first, False,
                 second_takes=_sliced(1)) == 'conflict'
    assert _slices(migrated_database.engine) == []


@pytest.mark.parametrize('hold_lock', [False, True], ids=['committed', 'waiting'])
def test_an_update_does_not_count_its_own_slice_against_itself(migrated_database,
                                                              hold_lock):
    """The second holds 2 of the host's 4 vCPUs and is updated to keep them; the
    first takes the other 2 meanwhile. Checked again, the host still fits the update:
    its own slice is the one it replaces."""
    assert _race(migrated_database.engine, _claimed(MINE, _sliced(2)), hold_lock,
                 second_takes=_sliced(2, update=True), held=2) == 'claimed'
    assert _slices(migrated_database.engine) == [2, 2]


@pytest.mark.parametrize('hold_lock', [False, True], ids=['committed', 'waiting'])
def test_a_host_update_does_not_count_its_own_allocation_against_itself(
        migrated_database, hold_lock):
    """The second holds the host in its window and is updated to keep it; the first
    takes the host in a later window meanwhile."""
    later = (START + 3 * HOUR, START + 4 * HOUR)
    assert _race(migrated_database.engine, _claimed(later), hold_lock,
                 second_takes=functools.partial(_whole, update=True),
                 held='whole') == 'claimed'
    assert _allocations(migrated_database.engine) == [
        tuple(_naive(*MINE)), tuple(_naive(*later))]
