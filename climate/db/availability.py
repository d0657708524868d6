"""When whole hosts are free: the availability search and the busy intervals.

The question "when could a request for ``min`` hosts matching these requirements,
for ``duration``, start between ``start_after`` and ``end_before``?" is answered in two
steps:

1. SQL (:func:`busy_in_range`): the reservable hosts matching the requirements (the
   same WHERE clauses as :mod:`climate.db.host_search`), and, in the same statement,
   only their allocations that overlap the search range widened by the cleaning time.
   The allocation side is a range probe of the ``(compute_host_id, start_date,
   end_date)`` index per candidate host, so the cost grows with the candidate hosts
   and the allocations inside the range, not with all allocations.
2. Python (:func:`sweep`): each host's busy intervals (widened by the cleaning time on
   both sides, as the claim does) are merged into free gaps; a gap ``[a, b)`` at least
   ``duration`` long lets a window start anywhere in ``[a, b - duration]``. One sweep
   over those start intervals, ordered by time, yields the starts where at least
   ``minimum`` hosts are free. The candidate starts are the search's own start and
   every moment a host becomes free (the end of a widened busy interval): the
   earliest feasible start is always one of them.

A window found here is what a create would get *now*; the create that books "the
earliest window" searches again and claims in its own transaction
(``climate.manager.earliest``).

Resource types whose unit is not a whole host (capacity reservations) have their
own sweep over the same busy rows; :func:`sweep` is the whole-host one.
"""

import bisect
import dataclasses
import datetime
from typing import List
from typing import Optional
from typing import Tuple

import sqlalchemy as sa

from climate.db import api as db_api
from climate.db import models
from climate.db.types import UTCDateTime

H = models.ComputeHost.__table__
A = models.ComputeHostAllocation.__table__
R = models.Reservation.__table__
L = models.Lease.__table__


@dataclasses.dataclass(frozen=True)
class Busy:
    """One allocation of a host: ``[start, end)`` as stored (not widened)."""

    host_id: int
    start: datetime.datetime
    end: datetime.datetime
    lease_id: str
    project_id: str


@dataclasses.dataclass(frozen=True)
class Host:
    host_id: int
    hostname: Optional[str]


@dataclasses.dataclass(frozen=True)
class Window:
    """``free`` hosts (``hosts``, by id) are free for ``[start, end)``."""

    start: datetime.datetime
    end: datetime.datetime
    free: int
    hosts: Tuple[int, ...]


@db_api.reader
def busy_in_range(context, clauses, lo, hi, host_ids=None):
    """``(hosts, busy)``: the reservable hosts matching ``clauses`` (and among
    ``host_ids`` when given), and their allocations overlapping ``[lo, hi)``.

    :param clauses: WHERE clauses on ``computehosts``
        (``climate.db.host_search.requirement_clause``).
    :returns: a list of :class:`Host` ordered by id, a list of :class:`Busy` ordered
        by host and start.
    """
    where = [H.c.reservable.is_(True), *clauses]
    if host_ids is not None:
        where.append(H.c.id.in_(sorted(host_ids)))
    hosts = [Host(*row) for row in context.session.execute(
        sa.select(H.c.id, H.c.hypervisor_hostname).where(*where).order_by(H.c.id))]
    if not hosts:
        return [], []
    lo_param = sa.bindparam('b_lo', type_=UTCDateTime())
    hi_param = sa.bindparam('b_hi', type_=UTCDateTime())
    rows = context.session.execute(
        sa.select(A.c.compute_host_id, A.c.start_date, A.c.end_date, L.c.id,
                  L.c.project_id)
        .select_from(H.join(A, A.c.compute_host_id == H.c.id)
                     .join(R, R.c.id == A.c.reservation_id)
                     .join(L, L.c.id == R.c.lease_id))
        .where(*where, A.c.start_date < hi_param, A.c.end_date > lo_param)
        .order_by(A.c.compute_host_id, A.c.start_date),
        {'b_lo': lo, 'b_hi': hi})
    return hosts, [Busy(*row) for row in rows]


def free_starts(busy, duration, start_after, end_before, cleaning):
    """The intervals ``[first, last]`` of starts for which a host with the sorted
    allocations ``busy`` is free for ``duration`` (widened by ``cleaning``), inside
    ``[start_after, end_before]``."""
    result = []
    free_from, latest = start_after, end_before - duration
    for item in busy:
        lo, hi = item.start - cleaning, item.end + cleaning
        if min(lo - duration, latest) >= free_from:
            result.append((free_from, min(lo - duration, latest)))
        free_from = max(free_from, hi)
    if latest >= free_from:
        result.append((free_from, latest))
    return result


def sweep(hosts, busy, duration, start_after, end_before, minimum, limit,
          cleaning=datetime.timedelta(0)) -> List[Window]:
    """Up to ``limit`` windows of ``duration`` inside ``[start_after, end_before]``
    where at least ``minimum`` of ``hosts`` are free, earliest first; one per moment
    a host becomes free (or the range's start), with every host free over it.

    :param busy: the hosts' allocations, sorted by host then start.
    """
    per_host = {host.host_id: [] for host in hosts}
    for item in busy:
        if item.host_id in per_host:
            per_host[item.host_id].append(item)
    # (time, 0: a host becomes free to start / 1: no longer, host id)
    events = []
    for host_id, items in per_host.items():
        for first, last in free_starts(items, duration, start_after, end_before,
                                       cleaning):
            events.append((first, 0, host_id))
            events.append((last, 1, host_id))
    events.sort()
    free = []  # sorted host ids free to start at the current time
    windows = []
    index = 0
    while index < len(events) and len(windows) < limit:
        when = events[index][0]
        opened = False
        while index < len(events) and events[index][:2] == (when, 0):
            bisect.insort(free, events[index][2])
            opened = True
            index += 1
        if opened and len(free) >= minimum:
            windows.append(Window(when, when + duration, len(free), tuple(free)))
        while index < len(events) and events[index][:2] == (when, 1):
            free.remove(events[index][2])
            index += 1
    return windows


def find_windows(context, clauses, duration, start_after, end_before, minimum,
                 limit, cleaning=datetime.timedelta(0)):
    """The windows (:func:`sweep`) for hosts matching ``clauses``."""
    hosts, busy = busy_in_range(context, clauses, start_after - cleaning,
                                end_before + cleaning)
    return sweep(hosts, busy, duration, start_after, end_before, minimum, limit,
                 cleaning)
