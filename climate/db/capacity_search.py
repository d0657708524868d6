"""The search for room on compute hosts for capacity reservations (slices of hosts).

A capacity reservation holds ``amount`` instances of one size (vcpus, memory_mb,
disk_gb) for a window. Its instances are placed on hosts as *slices*
(``capacity_allocations``, one row per reservation and host). The capacity model is
shared with whole-host reservations (``physical:host``):

* a host held whole in a window holds no slice in it, and the other way round (the
  whole-host search, :mod:`climate.db.host_search`, counts slices as busy; this search
  skips hosts with a whole-host allocation);
* at every instant, the slices on a host add up to no more than its inventory times
  the allocation ratio of each resource (``[DEFAULT] cpu_allocation_ratio``,
  ``ram_allocation_ratio``, ``disk_allocation_ratio``). What counts is the *peak* of
  the slices overlapping the window, not their sum: two slices one after the other
  share the same room.

``[DEFAULT] cleaning_time`` keeps ``c`` minutes after each allocation: a slice
occupies ``[start, end + c)``, so two allocations conflict when ``s1 < e2 + c`` and
``s2 < e1 + c`` — the same condition as between whole-host allocations.

A new reservation first tries :func:`find_room_quickly` (a few hosts, room
under-estimated from the sum of overlapping slices, so the cost does not grow with
the hosts and slices outside the answer); when that gives no placement, and for
updates, :func:`find_room` is exact: it reads the candidate hosts, each with its
``generation``, then the slices overlapping the window, and computes the peak and the
room left from those rows. Every read of slices (and of whole-host allocations) is
bounded below: it only reads allocations starting after the window's start minus
the longest allocation any host holds (:func:`climate.db.claims.bounded`), on the
``ix_<table>_window (start_date, end_date, compute_host_id)`` index, so its cost
follows the allocations near the window, not all the allocations there are.

The caller claims every host it places a slice on with :func:`claim_room`, the same
generation-guarded claim as whole hosts (:func:`climate.db.claims.claim`), in the
transaction that writes the slices: a concurrent transaction that added a slice or a
whole-host allocation to one of them has bumped its generation; the claim then locks
the host and checks again, on the latest committed rows, that the slices placed there
still fit, and fails, to be retried on fresh data, only if they do not.
(:func:`find_room` reads the hosts' generations before their slices: a slice
committed in between is read, one committed later has bumped the generation.)

Placement (:func:`place`) of the ``amount`` instances on the hosts with room:
``affinity`` true puts them all on one host, false on distinct hosts, null anywhere.
In each case the strategy is *best fit*: hosts that already hold slices in the window
first (they cannot be reserved whole then anyway), then the hosts with the least room
left, so that empty hosts stay free for whole-host reservations and large requests.
"""

import dataclasses
import datetime

import sqlalchemy as sa

from climate.db import api as db_api
from climate.db import claims
from climate.db import models
from climate.db import sqlfunc

H = models.ComputeHost.__table__
A = models.ComputeHostAllocation.__table__
S = models.CapacityAllocation.__table__
M = models.HostMaintenance.__table__

#: More instances than any host can hold (a request with a zero size fits anywhere).
UNLIMITED = 2 ** 31 - 1


@dataclasses.dataclass(frozen=True)
class Size:
    """The resources of one instance (or the sum of some)."""

    vcpus: int
    memory_mb: int
    disk_gb: int

    def times(self, count):
        return Size(self.vcpus * count, self.memory_mb * count, self.disk_gb * count)


@dataclasses.dataclass(frozen=True)
class Ratios:
    """The allocation ratios: a host offers ``inventory x ratio`` of each resource."""

    cpu: float = 1.0
    ram: float = 1.0
    disk: float = 1.0

    @classmethod
    def from_conf(cls, conf):
        return cls(conf.cpu_allocation_ratio, conf.ram_allocation_ratio,
                   conf.disk_allocation_ratio)

    def capacity(self, vcpus, memory_mb, local_gb):
        # A small epsilon keeps 16 x 1.5 = 24 from becoming 23.999...
        return Size(int(vcpus * self.cpu + 1e-9), int(memory_mb * self.ram + 1e-9),
                    int(local_gb * self.disk + 1e-9))


@dataclasses.dataclass(frozen=True)
class HostRoom(claims.HostGeneration):
    """A host that can take instances: how many of the requested size fit over the
    whole window, and whether it already holds other slices in it."""

    service_name: str
    room: int
    sliced: bool


def healthy(lo, hi):
    """The host is up (:mod:`climate.db.host_health`) and has no maintenance window
    overlapping ``[lo, hi)``: the only hosts offered to new slices."""
    in_maintenance = (sa.select(M.c.id)
                      .where(M.c.compute_host_id == H.c.id, M.c.start_date < hi,
                             M.c.end_date > lo)
                      .exists())
    return sa.and_(sa.or_(H.c.status.is_(None), H.c.status != 'down'),
                   ~in_maintenance)


def peak(intervals, start, end):
    """The peak usage (a :class:`Size`) in ``[start, end)`` of ``intervals``
    (``(start, end, Size)``, each already overlapping the window)."""
    points = sorted({start} | {s for s, _, _ in intervals if start < s < end})
    best = Size(0, 0, 0)
    for point in points:
        used = [size for s, e, size in intervals if s <= point < e]
        total = Size(sum(u.vcpus for u in used), sum(u.memory_mb for u in used),
                     sum(u.disk_gb for u in used))
        best = Size(max(best.vcpus, total.vcpus), max(best.memory_mb, total.memory_mb),
                    max(best.disk_gb, total.disk_gb))
    return best


def room_for(capacity, used, size):
    """How many instances of ``size`` fit in ``capacity`` minus ``used``."""
    room = UNLIMITED
    for wanted, total, taken in ((size.vcpus, capacity.vcpus, used.vcpus),
                                 (size.memory_mb, capacity.memory_mb, used.memory_mb),
                                 (size.disk_gb, capacity.disk_gb, used.disk_gb)):
        free = total - taken
        if free < 0:
            return 0
        if wanted > 0:
            room = min(room, free // wanted)
    return room


def _whole_overlapping(lo, hi, exclude_reservation=None, floor=None):
    """A whole-host allocation of the outer host overlaps ``[lo, hi)`` (not one of
    ``exclude_reservation``; starting after ``floor``, when given)."""
    return (sa.select(A.c.id)
            .where(A.c.compute_host_id == H.c.id, A.c.start_date < hi,
                   *([A.c.start_date >= floor] if floor is not None else []),
                   A.c.end_date > lo,
                   *([A.c.reservation_id != exclude_reservation]
                     if exclude_reservation is not None else []))
            .exists())


def _occupied(slices, cleaning):
    """``{host id: [(start, end + cleaning, Size)]}`` of slice rows (host id, start,
    end, vcpus, memory_mb, disk_gb): each slice occupies its window and the cleaning
    time after it."""
    occupied = {}
    for host_id, s_start, s_end, s_vcpus, s_memory, s_disk in slices:
        occupied.setdefault(host_id, []).append(
            (s_start, s_end + cleaning, Size(s_vcpus, s_memory, s_disk)))
    return occupied


@db_api.reader
def find_room(context, start, end, size, clauses=(), ratios=Ratios(),
              cleaning=datetime.timedelta(0), exclude_reservation=None, host_ids=None):
    """The hosts with room for at least one instance of ``size`` in ``[start, end)``.

    :param clauses: WHERE clauses on ``computehosts`` (the requirements, see
        :func:`climate.db.host_search.requirement_clause`); only reservable hosts, up
        and out of maintenance over the window, are searched, unless ``host_ids``
        names the hosts to look at (whatever their ``reservable`` and health: a
        reservation putting back what it held).
    :param exclude_reservation: ignore this reservation's own slices (update).
    :returns: a list of :class:`HostRoom`, in host id order.
    """
    lo, hi = start - cleaning, end + cleaning
    own = [S.c.reservation_id != exclude_reservation] \
        if exclude_reservation is not None else []
    if host_ids is not None:
        if not host_ids:
            return []
        where = [H.c.id.in_(sorted(host_ids))]
    else:
        where = [H.c.reservable.is_(True), healthy(lo, hi), *clauses]

    def search(span):
        floor = lo - span
        whole = _whole_overlapping(lo, hi, exclude_reservation, floor)
        # The hosts first: a slice committed after this read bumped its host's
        # generation (the claim fails), one committed before it is in the next read.
        candidates = context.session.execute(
            sa.select(H.c.id, H.c.generation, H.c.service_name, H.c.vcpus,
                      H.c.memory_mb, H.c.local_gb)
            .where(~whole, *where).order_by(H.c.id)).all()
        # Every host's slices in one range read of ix_capacity_allocations_window
        # (a join would read each host's slices from its first one on MariaDB).
        slices = context.session.execute(
            sa.select(S.c.compute_host_id, S.c.start_date, S.c.end_date, S.c.vcpus,
                      S.c.memory_mb, S.c.disk_gb)
            .where(S.c.start_date >= floor, S.c.start_date < hi, S.c.end_date > lo,
                   *own, *([S.c.compute_host_id.in_(sorted(host_ids))]
                           if host_ids is not None else []))).all()
        return candidates, slices

    candidates, slices = claims.bounded(context, search)
    occupied = _occupied(slices, cleaning)
    hosts = {host_id: (generation, service, ratios.capacity(vcpus, memory_mb, local_gb),
                       occupied.get(host_id, []))
             for host_id, generation, service, vcpus, memory_mb, local_gb in candidates}
    found = []
    for host_id, (generation, service, capacity, taken) in hosts.items():
        room = room_for(capacity, peak(taken, start, end + cleaning), size)
        if room > 0:
            found.append(HostRoom(host_id, generation, service, room, bool(taken)))
    return found


def claim_room(context, rooms, placement, size, start, end, clauses=(),
               ratios=Ratios(), cleaning=datetime.timedelta(0),
               exclude_reservation=None, span=None):
    """Claim the hosts of ``placement`` (``{host id: instances}``, placed on
    ``rooms`` as :func:`find_room` or :func:`find_room_quickly` found them with the
    same arguments) for slices of ``span`` (the window's length unless given).

    A host whose generation moved since the search (another transaction added or
    removed a slice on it, often in another window or leaving room enough) is not
    lost at once: once this transaction holds its row, it is checked again as the
    search checked it, against the latest committed rows, and kept if the instances
    placed on it still fit.

    :raises ClaimConflict: see :func:`climate.db.claims.claim`.
    """
    lo, hi = start - cleaning, end + cleaning
    fits, inventory_of, slices_of = _recheck_statements(
        tuple(clauses), exclude_reservation is not None)
    params = {'lo': lo, 'hi': hi}
    if exclude_reservation is not None:
        params['exclude'] = exclude_reservation

    def recheck(host_ids):
        # The host's own conditions as an UPDATE's WHERE, and the slices with a
        # locking read: both read the latest committed rows (MariaDB's REPEATABLE
        # READ snapshot would hide them from a plain SELECT), after the caller's lock
        # made any transaction changing these hosts finish. Unbounded below: a longer
        # allocation may have just been committed.
        ids = dict(params, ids=host_ids)
        fit = context.session.execute(fits, ids).rowcount
        if fit < len(host_ids):
            return fit
        # Rows this transaction updated read as it wrote them: their latest version.
        inventory = context.session.execute(inventory_of, ids).all()
        taken = _occupied(context.session.execute(slices_of, ids), cleaning)
        return sum(
            1 for host_id, vcpus, memory_mb, local_gb in inventory
            if room_for(ratios.capacity(vcpus, memory_mb, local_gb),
                        peak(taken.get(host_id, []), start, end + cleaning),
                        size) >= placement[host_id])

    claims.claim(context, [r for r in rooms if r.host_id in placement],
                 end - start if span is None else span, recheck=recheck)


_RECHECKS = {}


def _recheck_statements(clauses, excluding):
    """:func:`claim_room`'s recheck of hosts ``ids`` over ``[lo, hi)`` (not counting
    reservation ``exclude``'s own slices when ``excluding``): the hosts that still
    fit as hosts, their inventory, and their slices in the window (a locking read).
    Built once per shape when there are no requirement clauses (building them cost
    ~0.5 ms of CPU)."""
    statements = None if clauses else _RECHECKS.get(excluding)
    if statements is not None:
        return statements
    lo, hi = (sa.bindparam(name, type_=S.c.start_date.type) for name in ('lo', 'hi'))
    exclude = sa.bindparam('exclude', type_=S.c.reservation_id.type) \
        if excluding else None
    ids = sa.bindparam('ids', expanding=True)
    own = [S.c.reservation_id != exclude] if excluding else []
    statements = (
        sa.update(H)
        .where(H.c.id.in_(ids), H.c.reservable.is_(True), healthy(lo, hi),
               ~_whole_overlapping(lo, hi, exclude), *clauses)
        .values(generation=H.c.generation + 1, updated_at=H.c.updated_at)
        .execution_options(synchronize_session=False),
        sa.select(H.c.id, H.c.vcpus, H.c.memory_mb, H.c.local_gb)
        .where(H.c.id.in_(ids)),
        sa.select(S.c.compute_host_id, S.c.start_date, S.c.end_date, S.c.vcpus,
                  S.c.memory_mb, S.c.disk_gb)
        .where(S.c.compute_host_id.in_(ids), S.c.start_date < hi, S.c.end_date > lo,
               *own)
        .with_for_update(read=True))
    if not clauses:
        _RECHECKS[excluding] = statements
    return statements


def _quick_statements():
    """The two statements of :func:`find_room_quickly`, built once (building one
    took ~0.5 ms of CPU per create): the window, size, ratios and limits are bound
    at execution."""
    lo, hi, floor = (sa.bindparam(name, type_=S.c.start_date.type)
                     for name in ('lo', 'hi', 'floor'))
    size = Size(sa.bindparam('vcpus', type_=sa.Integer),
                sa.bindparam('memory_mb', type_=sa.Integer),
                sa.bindparam('disk_gb', type_=sa.Integer))
    ratio = [sa.bindparam(name, type_=sa.Float) for name in ('cpu', 'ram', 'disk')]
    whole = (sa.select(A.c.id)
             .where(A.c.compute_host_id == H.c.id, A.c.start_date < hi,
                    A.c.start_date >= floor, A.c.end_date > lo)
             .exists())
    sliced = (sa.select(S.c.id)
              .where(S.c.compute_host_id == H.c.id, S.c.start_date < hi,
                     S.c.start_date >= floor, S.c.end_date > lo)
              .exists())
    offered = (H.c.vcpus * ratio[0], H.c.memory_mb * ratio[1], H.c.local_gb * ratio[2])
    columns = (H.c.id, H.c.generation, H.c.service_name, H.c.vcpus, H.c.memory_mb,
               H.c.local_gb)
    used = (sa.func.sum(S.c.vcpus), sa.func.sum(S.c.memory_mb),
            sa.func.sum(S.c.disk_gb))
    busy = (sa.select(*columns, *used, claims.longest_column())
            .select_from(H.join(S, sa.and_(S.c.compute_host_id == H.c.id,
                                           S.c.start_date < hi,
                                           S.c.start_date >= floor,
                                           S.c.end_date > lo)))
            .where(H.c.reservable.is_(True), ~whole, healthy(lo, hi))
            .group_by(*columns)
            .having(sa.and_(offered[0] - used[0] >= size.vcpus,
                            offered[1] - used[1] >= size.memory_mb,
                            offered[2] - used[2] >= size.disk_gb))
            .order_by(used[0].desc(), H.c.id)
            .limit(sa.bindparam('busy_limit', type_=sa.Integer)))
    empty = (sa.select(*columns, claims.longest_column())
             .where(H.c.reservable.is_(True), ~whole, ~sliced,
                    offered[0] >= size.vcpus, offered[1] >= size.memory_mb,
                    offered[2] >= size.disk_gb, healthy(lo, hi))
             .order_by(H.c.vcpus, H.c.memory_mb, H.c.local_gb, H.c.id)
             .limit(sa.bindparam('empty_limit', type_=sa.Integer)))
    # Walk the hosts smallest first and stop after ``empty_limit`` of them, rather
    # than sort every host: MariaDB otherwise picks the sort when it under-estimates
    # the hosts that pass the filters (no statistics yet). PostgreSQL, which
    # under-estimates them alike, keeps a top-N sort after one index probe per host.
    return busy, sqlfunc.force_index(empty, H, 'ix_computehosts_size')


_QUICK_BUSY, _QUICK_EMPTY = _quick_statements()


@db_api.reader
def find_room_quickly(context, start, end, size, amount, clauses=(), ratios=Ratios(),
                      cleaning=datetime.timedelta(0)):
    """A few hosts with room, for a new reservation of ``amount`` instances: what
    :func:`place` needs in the common case without reading every host.

    Two statements, each reading the generation with what it checks: the sliced
    hosts whose slices overlapping the window *sum* (an upper bound of their peak)
    to leave room for one instance, most used first (best fit), at most
    ``max(2 x amount, 16)`` of them; and up to ``amount`` hosts holding nothing in the
    window, smallest first (read in the order of the ``ix_computehosts_size`` index,
    so the database stops after those). The room is under-estimated (sum, not peak),
    never over-estimated, so a placement made from these hosts is always valid; when
    none can be made the caller falls back to :func:`find_room`, which is exact.
    Each also reads :func:`climate.db.claims.longest_column`, so that no statement
    checks the bound after them.
    """
    params = {'lo': start - cleaning, 'hi': end + cleaning, 'vcpus': size.vcpus,
              'memory_mb': size.memory_mb, 'disk_gb': size.disk_gb,
              'cpu': ratios.cpu, 'ram': ratios.ram, 'disk': ratios.disk,
              'busy_limit': max(2 * amount, 16), 'empty_limit': amount}
    busy, empty = _QUICK_BUSY, _QUICK_EMPTY
    if clauses:
        busy, empty = busy.where(*clauses), empty.where(*clauses)

    def search(span):
        bound = dict(params, floor=params['lo'] - span)
        return (context.session.execute(busy, bound).all(),
                context.session.execute(empty, bound).all())

    busy_rows, empty_rows = claims.bounded(
        context, search, lambda found: claims.read_longest(*found))
    found = []
    for (host_id, generation, service, vcpus, memory_mb, local_gb, *total,
         _longest) in busy_rows:
        room = room_for(ratios.capacity(vcpus, memory_mb, local_gb),
                        Size(*(int(t) for t in total)), size)
        if room > 0:
            found.append(HostRoom(host_id, generation, service, room, True))
    for host_id, generation, service, vcpus, memory_mb, local_gb, _longest in empty_rows:
        room = room_for(ratios.capacity(vcpus, memory_mb, local_gb), Size(0, 0, 0),
                        size)
        if room > 0:
            found.append(HostRoom(host_id, generation, service, room, False))
    return found


def place(rooms, amount, affinity, keep=None, prefer=()):
    """Where to put ``amount`` instances: ``{host_id: instances}``, or None.

    :param rooms: what :func:`find_room` returned.
    :param affinity: True (one host), False (distinct hosts), None (anywhere).
    :param keep: ``{host_id: instances}`` that must stay where they are (a started
        reservation growing); None when everything may move.
    :param prefer: host ids ranked first (a pending reservation keeps its hosts when
        it can).
    """
    by_id = {r.host_id: r for r in rooms}
    keep = dict(keep or {})
    for host_id, count in keep.items():
        if host_id not in by_id or by_id[host_id].room < count:
            return None
    prefer = set(prefer)
    ranked = sorted(rooms, key=lambda r: (r.host_id not in prefer, not r.sliced,
                                          r.room, r.host_id))
    if affinity:
        if len(keep) > 1:
            return None
        for r in [by_id[h] for h in keep] if keep else ranked:
            if r.room >= amount:
                return {r.host_id: amount}
        return None
    placement = dict(keep)
    left = amount - sum(keep.values())
    if left < 0:
        return None
    for r in ranked:
        if left == 0:
            break
        if affinity is False:
            if r.host_id in placement:
                continue
            placement[r.host_id] = 1
            left -= 1
        else:
            extra = min(left, r.room - placement.get(r.host_id, 0))
            if extra > 0:
                placement[r.host_id] = placement.get(r.host_id, 0) + extra
                left -= extra
    return placement if left == 0 else None
