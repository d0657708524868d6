"""Placement of capacity reservations' instances and the peak of slices (pure
functions of climate.db.capacity_search)."""

import datetime

import pytest

from climate.db import capacity_search as cs

T0 = datetime.datetime(2030, 1, 1)
H = datetime.timedelta(hours=1)


def room(host_id, room, sliced=False):
    return cs.HostRoom(host_id, 0, f'c{host_id}', room, sliced)


def test_peak_is_the_largest_concurrent_use_not_the_sum():
    one = cs.Size(2, 100, 1)
    slices = [(T0, T0 + H, one), (T0 + H, T0 + 2 * H, one),
              (T0 + H / 2, T0 + 3 * H / 2, one)]
    assert cs.peak(slices, T0, T0 + 2 * H) == cs.Size(4, 200, 2)
    assert cs.peak(slices[:2], T0, T0 + 2 * H) == one
    assert cs.peak([], T0, T0 + H) == cs.Size(0, 0, 0)


def test_room_is_limited_by_the_scarcest_resource():
    capacity = cs.Size(8, 4096, 100)
    assert cs.room_for(capacity, cs.Size(2, 0, 0), cs.Size(1, 1024, 10)) == 4
    assert cs.room_for(capacity, cs.Size(0, 0, 95), cs.Size(1, 1024, 10)) == 0
    assert cs.room_for(capacity, cs.Size(9, 0, 0), cs.Size(1, 1, 0)) == 0
    assert cs.room_for(capacity, cs.Size(0, 0, 0), cs.Size(1, 1, 0)) == 8


def test_ratios_multiply_the_inventory():
    assert cs.Ratios(1.5, 2.0, 1.0).capacity(16, 1000, 10) == cs.Size(24, 2000, 10)


@pytest.mark.parametrize('affinity, amount, expected', [
    (True, 3, {2: 3}),                 # the smallest single host with room for 3
    (True, 6, None),
    (False, 2, {1: 1, 2: 1}),          # sliced first, then least room
    (False, 4, None),
    (None, 5, {1: 1, 2: 3, 3: 1}),     # fill the sliced one, then smaller rooms
    (None, 9, None),
])
def test_placement_by_affinity_is_best_fit(affinity, amount, expected):
    rooms = [room(1, 1, sliced=True), room(2, 3), room(3, 4)]
    assert cs.place(rooms, amount, affinity) == expected


def test_placement_keeps_what_a_started_reservation_holds():
    rooms = [room(1, 2), room(2, 4)]
    assert cs.place(rooms, 3, None, keep={2: 2}) == {2: 2, 1: 1}
    assert cs.place(rooms, 3, None, keep={2: 2}, prefer={2}) == {2: 3}
    assert cs.place(rooms, 2, False, keep={2: 1}) == {2: 1, 1: 1}
    assert cs.place(rooms, 3, False, keep={2: 1}) is None
    assert cs.place(rooms, 5, True, keep={1: 1}) is None
    assert cs.place([room(2, 1)], 2, None, keep={1: 1}) is None   # its host is gone


def test_placement_prefers_the_hosts_it_is_asked_to():
    rooms = [room(1, 4), room(2, 4)]
    assert cs.place(rooms, 2, None, prefer={2}) == {2: 2}
