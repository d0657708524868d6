"""When whole hosts are free: the availability search and the busy intervals.

The question "when could a request for ``min`` hosts matching these requirements,
for ``duration``, start between ``start_after`` and ``end_before``?" is answered in two
steps:

1. SQL (:func:`find_windows`): the reservable hosts matching the requirements (the
   same WHERE clauses as :mod:`climate.db.host_search`), and, for those hosts, only
   the allocations and maintenance windows (hosts marked down are left out, as
   :mod:`climate.db.host_search` leaves them and maintenance windows out of a create)
   that overlap the search range widened by the cleaning time (a
   range probe of the ``(compute_host_id, start_date, end_date)`` index). Window
   functions turn each host's allocations, ordered by start, into the free gaps
   between them, and only the gaps long enough for the window leave the database:
   the cost grows with the candidate hosts and the allocations inside the range, not
   with all allocations, and only the usable gaps cross the wire.
2. Python (:func:`sweep_starts`): a gap ``[a, b)`` (busy intervals widened by the
   cleaning time on both sides, as the claim does) lets a window start anywhere in
   ``[a, b - duration]``. One sweep over those start intervals, ordered by time,
   yields the starts where at least ``minimum`` hosts are free. The candidate starts
   are the search's own start and every moment a host becomes free (the end of a
   widened busy interval): the earliest feasible start is always one of them.

:func:`sweep` is the same computation from the allocation rows themselves
(:func:`busy_in_range`, which the busy listing shows), kept as the reference the
tests compare with.

A window found here is what a create would get *now*; the create that books "the
earliest window" searches again and claims in its own transaction
(``climate.manager.earliest``).

Resource types whose unit is not a whole host (capacity reservations) have their
own sweep over the same busy rows; :func:`sweep` is the whole-host one.
"""

import dataclasses
import datetime
from typing import List
from typing import Optional
from typing import Tuple

import sqlalchemy as sa

from climate.db import api as db_api
from climate.db import models
from climate.db import sqlfunc
from climate.db.types import UTCDateTime

H = models.ComputeHost.__table__
A = models.ComputeHostAllocation.__table__
R = models.Reservation.__table__
L = models.Lease.__table__
M = models.HostMaintenance.__table__


def _up():
    """The host is not marked down (:mod:`climate.db.host_health`): a down host is
    never offered, as :mod:`climate.db.host_search` never takes it."""
    return sa.or_(H.c.status.is_(None), H.c.status != 'down')


@dataclasses.dataclass(frozen=True)
class Busy:
    """One allocation of a host: ``[start, end)`` as stored (not widened)."""

    host_id: int
    start: datetime.datetime
    end: datetime.datetime
    lease_id: Optional[str]
    project_id: Optional[str]
    #: 'lease' (an allocation) or 'maintenance' (a maintenance window of the host,
    #: no lease: the host is not offered then, as ``host_search`` skips it).
    kind: str = 'lease'
    reason: Optional[str] = None


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
    ``host_ids`` when given), and their allocations and maintenance windows
    (``kind='maintenance'``, no lease) overlapping ``[lo, hi)``.

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
    busy = [Busy(*row) for row in rows]
    windows = context.session.execute(
        sa.select(M.c.compute_host_id, M.c.start_date, M.c.end_date, M.c.reason)
        .select_from(H.join(M, M.c.compute_host_id == H.c.id))
        .where(*where, M.c.start_date < hi_param, M.c.end_date > lo_param),
        {'b_lo': lo, 'b_hi': hi})
    busy.extend(Busy(host_id, start, end, None, None, 'maintenance', reason)
                for host_id, start, end, reason in windows)
    busy.sort(key=lambda item: (item.host_id, item.start, item.end))
    return hosts, busy


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


def sweep_starts(starts, minimum, limit):
    """Up to ``limit`` ``(start, hosts)``, earliest first: each moment some host's
    interval of possible starts opens (``starts``: host id -> ``[(first, last)]``,
    any ordered values) and at least ``minimum`` hosts may start then."""
    # (time, 0: a host may start from now / 1: no longer after now, host id)
    events = []
    for host_id, intervals in starts.items():
        for first, last in intervals:
            events.append((first, 0, host_id))
            events.append((last, 1, host_id))
    events.sort()
    free = set()
    found = []
    index, count = 0, len(events)
    while index < count and len(found) < limit:
        when = events[index][0]
        opened = False
        while index < count and events[index][0] == when and events[index][1] == 0:
            free.add(events[index][2])
            opened = True
            index += 1
        if opened and len(free) >= minimum:
            found.append((when, tuple(sorted(free))))
        while index < count and events[index][0] == when:
            free.discard(events[index][2])
            index += 1
    return found


def sweep(hosts, busy, duration, start_after, end_before, minimum, limit,
          cleaning=datetime.timedelta(0)) -> List[Window]:
    """Up to ``limit`` windows of ``duration`` inside ``[start_after, end_before]``
    where at least ``minimum`` of ``hosts`` are free, earliest first; one per moment
    a host becomes free (or the range's start), with every host free over it.

    The reference computation from allocation rows (:func:`find_windows` does the
    same from the free gaps the database computes).

    :param busy: the hosts' allocations, sorted by host then start.
    """
    per_host = {host.host_id: [] for host in hosts}
    for item in busy:
        if item.host_id in per_host:
            per_host[item.host_id].append(item)
    starts = {host_id: free_starts(items, duration, start_after, end_before, cleaning)
              for host_id, items in per_host.items()}
    return [Window(when, when + duration, len(free), free)
            for when, free in sweep_starts(starts, minimum, limit)]


# The gaps between allocations, computed by the database -----------------------------

def _seconds_from(base, column):
    # Whole seconds (SQLite's julianday arithmetic is a float).
    return sa.cast(sa.func.round(sqlfunc.seconds_between(base, column)), sa.BigInteger)


_BASE = sa.bindparam('b_base', type_=UTCDateTime())
_LO = sa.bindparam('b_lo', type_=UTCDateTime())
_HI = sa.bindparam('b_hi', type_=UTCDateTime())
_FITS = sa.bindparam('b_fits', type_=sa.BigInteger())        # duration + 2 cleaning
_BEYOND = sa.bindparam('b_beyond', type_=sa.BigInteger())    # past the last start
_LEAD = sa.bindparam('b_lead', type_=sa.BigInteger())        # duration + cleaning
_STATEMENTS = {}


def _gaps_statement(clauses):
    """Per matching host that is not down, the gaps between its allocations and
    maintenance windows (busy like allocations, widened by the cleaning time as the
    claim's check is) in range that are long
    enough for the window, as ``(host_id, gap_from, gap_to)`` in seconds from
    ``b_base`` (``gap_from`` NULL: the gap from ``b_base`` to its first allocation).
    A host with no such gap is not returned: it cannot take the window.

    Each host also gets a sentinel allocation at ``b_beyond``, past any start the
    search may return, so that the gap after its last allocation is a gap before one
    too. Allocations are ordered by start; a gap runs from the latest end among the
    ones before (overlapping or nested allocations merge) to the next start.
    """
    if not clauses and _STATEMENTS:
        return _STATEMENTS[()]
    matching = [H.c.reservable.is_(True), _up(), *clauses]
    allocations = (sa.select(A.c.compute_host_id.label('host_id'),
                             _seconds_from(_BASE, A.c.start_date).label('s'),
                             _seconds_from(_BASE, A.c.end_date).label('e'))
                   .select_from(H.join(A, A.c.compute_host_id == H.c.id))
                   .where(*matching, A.c.start_date < _HI, A.c.end_date > _LO))
    maintenance = (sa.select(M.c.compute_host_id.label('host_id'),
                             _seconds_from(_BASE, M.c.start_date).label('s'),
                             _seconds_from(_BASE, M.c.end_date).label('e'))
                   .select_from(H.join(M, M.c.compute_host_id == H.c.id))
                   .where(*matching, M.c.start_date < _HI, M.c.end_date > _LO))
    sentinels = sa.select(H.c.id.label('host_id'), _BEYOND.label('s'),
                          _BEYOND.label('e')).where(*matching)
    rows = sa.union_all(allocations, maintenance, sentinels).subquery('busy')
    before = (sa.func.max(rows.c.e)
              .over(partition_by=rows.c.host_id, order_by=(rows.c.s, rows.c.e),
                    rows=(None, -1)))
    ordered = sa.select(rows.c.host_id, before.label('gap_from'),
                        rows.c.s.label('gap_to')).subquery('ordered')
    statement = (sa.select(ordered.c.host_id, ordered.c.gap_from, ordered.c.gap_to)
                 .where(sa.or_(sa.and_(ordered.c.gap_from.is_(None),
                                       ordered.c.gap_to >= _LEAD),
                               ordered.c.gap_to - ordered.c.gap_from >= _FITS)))
    if not clauses:  # built once: statements with requirements differ each time
        _STATEMENTS[()] = statement
    return statement


@db_api.reader
def find_windows(context, clauses, duration, start_after, end_before, minimum,
                 limit, cleaning=datetime.timedelta(0)) -> List[Window]:
    """The windows :func:`sweep` finds, for the reservable hosts matching
    ``clauses``, in one statement: the database returns only the gaps long enough
    for the window, so at most about one row per free candidate host and window
    crosses the wire however many allocations the range holds."""
    dur, clean = int(duration.total_seconds()), int(cleaning.total_seconds())
    latest = int((end_before - start_after).total_seconds()) - dur
    rows = context.session.execute(_gaps_statement(tuple(clauses)), {
        'b_base': start_after, 'b_lo': start_after - cleaning,
        'b_hi': end_before + cleaning, 'b_fits': dur + 2 * clean,
        'b_beyond': latest + dur + clean, 'b_lead': dur + clean})
    starts = {}
    for host_id, gap_from, gap_to in rows:
        intervals = starts.setdefault(host_id, [])
        first = 0 if gap_from is None else max(int(gap_from) + clean, 0)
        last = min(int(gap_to) - clean - dur, latest)
        if first <= last:
            intervals.append((first, last))
    result = []
    for when, free in sweep_starts(starts, minimum, limit):
        start = start_after + datetime.timedelta(seconds=when)
        result.append(Window(start, start + duration, len(free), free))
    return result
