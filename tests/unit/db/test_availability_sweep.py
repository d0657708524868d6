"""The whole-host sweep of the availability search (climate.db.availability.sweep)
against a brute-force computation, on many randomised hosts and allocations (the
SQL side is checked on each database in tests/functional/db/test_availability.py)."""

import datetime

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from climate.db import availability

HOUR = datetime.timedelta(hours=1)
T0 = datetime.datetime(2031, 1, 1, tzinfo=datetime.timezone.utc)


def brute_force(hosts, allocations, duration, start_after, end_before, minimum,
                limit, cleaning):
    """Every hour from ``start_after`` (all times are whole hours): which of
    ``hosts`` are free for the window; a window is reported where a host becomes
    free and enough of them are, with every free host."""
    def free_at(start):
        end = start + duration
        return {h for h in hosts
                if not any(a_host == h and a_start - cleaning < end
                           and a_end + cleaning > start
                           for a_host, a_start, a_end in allocations)}
    found, before = [], set()
    start = start_after
    while start + duration <= end_before and len(found) < limit:
        free = free_at(start)
        if free - before and len(free) >= minimum:
            found.append((start, start + duration, len(free), tuple(sorted(free))))
        before, start = free, start + HOUR
    return found


@settings(max_examples=200, deadline=None, derandomize=True)
@given(busy=st.lists(st.lists(st.tuples(st.integers(0, 30), st.integers(1, 8)),
                              max_size=5), min_size=1, max_size=6),
       duration=st.integers(1, 10), start=st.integers(0, 10), span=st.integers(1, 48),
       minimum=st.integers(1, 4), cleaning=st.integers(0, 3), limit=st.integers(1, 8))
def test_sweep_matches_brute_force(busy, duration, start, span, minimum, cleaning,
                                   limit):
    hosts = [availability.Host(i + 1, f'h{i}') for i in range(len(busy))]
    allocations = sorted((i + 1, T0 + offset * HOUR, T0 + (offset + length) * HOUR)
                         for i, items in enumerate(busy) for offset, length in items)
    rows = [availability.Busy(h, lo, hi, 'lease', 'project') for h, lo, hi in allocations]
    args = (duration * HOUR, T0 + start * HOUR, T0 + (start + span) * HOUR, minimum,
            limit, cleaning * HOUR)
    found = availability.sweep(hosts, rows, *args)
    expected = brute_force([h.host_id for h in hosts], allocations, *args)
    assert [(w.start, w.end, w.free, w.hosts) for w in found] == expected


def test_the_earliest_window_waits_for_the_cleaning_time():
    """One host busy 10:00-12:00 with one hour of cleaning: a 2-hour window fits
    before 07:00 or from 13:00."""
    rows = [availability.Busy(1, T0 + 10 * HOUR, T0 + 12 * HOUR, 'lease', 'p')]
    found = availability.sweep([availability.Host(1, 'h')], rows, 2 * HOUR,
                               T0 + 8 * HOUR, T0 + 24 * HOUR, 1, 5, HOUR)
    assert [w.start for w in found] == [T0 + 13 * HOUR]
