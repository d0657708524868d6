"""The search for free compute hosts: requirements, a window, a choice strategy.

One statement finds the reservable hosts, up and out of maintenance, that match a
request's requirements and have no allocation overlapping ``[start - cleaning, end +
cleaning)``, ranks them by the choice strategy and returns the first ``limit`` with
their ``generation``, which the caller hands to :func:`climate.db.claims.claim` in the
transaction that writes its allocations (the generation must be read in this same
statement as the overlap check: that is what makes the claim safe).

Whether a host is free reads only the allocations starting after the window's start
minus the longest allocation any host holds (:func:`climate.db.claims.bounded`), on
the ``(start_date, end_date, compute_host_id)`` indexes, which the databases read once
for every host; its maintenance windows and capabilities are probed per host. The
strategy ranks a random sample of the free hosts (``[physical:host]
selection_sample``) with two probes each of the ``(compute_host_id, start_date,
end_date)`` index, for the allocations just before and after the window; those read
the sampled host's allocations on one side of the window (ended reservations keep
none). The cost grows with the number of candidate hosts and the allocations near the
window, not with the number of allocations elsewhere, and there is no per-host round
trip.

What is resource-type specific comes in as arguments: the resource type whose
capability names a requirement refers to (:func:`requirement_clause`), and any further
WHERE clauses on ``computehosts`` (:func:`find_free_hosts`), which may compare with the
widened window through :data:`WINDOW_LO` and :data:`WINDOW_HI`.
"""

import dataclasses
import datetime

import sqlalchemy as sa

from climate.common import timeutils
from climate.db import api as db_api
from climate.db import claims
from climate.db import models
from climate.db import sqlfunc
from climate.db.types import UTCDateTime

H = models.ComputeHost.__table__
A = models.ComputeHostAllocation.__table__
# Slices of hosts held by capacity reservations: a host holding one in the window is
# not free to be reserved whole (see climate.db.capacity_search).
S = models.CapacityAllocation.__table__
C = models.ComputeHostExtraCapability.__table__
P = models.ResourceProperty.__table__
M = models.HostMaintenance.__table__

BEST_FIT = 'best_fit'
SPREAD = 'spread'
RANDOM = 'random'
STRATEGIES = (BEST_FIT, SPREAD, RANDOM)

_COMPARE = {
    '==': lambda a, b: a == b, '!=': lambda a, b: a != b,
    '<': lambda a, b: a < b, '<=': lambda a, b: a <= b,
    '>': lambda a, b: a > b, '>=': lambda a, b: a >= b,
}


@dataclasses.dataclass(frozen=True)
class Candidate(claims.HostGeneration):
    """A free host, ready to be claimed; ``service_name`` is its Nova compute host."""

    service_name: str


# Requirements as SQL ------------------------------------------------------------------

def requirement_clause(requirement, resource_type, numeric_fields, text_fields):
    """A WHERE clause on ``computehosts`` for one parsed requirement.

    Host fields compare directly (numbers as numbers, text bytewise); a capability
    must exist on the host and compare numerically when the requested value is a
    number (``capability_number``), bytewise otherwise.

    :param resource_type: whose capability names (``resource_properties``) the
        requirement's name is looked up among.
    :param numeric_fields: host columns compared as numbers.
    :param text_fields: host columns compared as text.
    """
    compare = _COMPARE[requirement.op]
    number = requirement.number
    if requirement.name in numeric_fields:
        return compare(H.c[requirement.name], number)
    if requirement.name in text_fields:
        return compare(sqlfunc.bytewise(H.c[requirement.name]), requirement.value)
    if number is None:
        value_clause = compare(sqlfunc.bytewise(C.c.capability_value), requirement.value)
    elif requirement.op == '!=':
        # A value that is not a number differs from every number.
        value_clause = sa.or_(C.c.capability_number != number,
                              C.c.capability_number.is_(None))
    else:
        value_clause = compare(C.c.capability_number, number)
    return (sa.select(C.c.id)
            .select_from(C.join(P, P.c.id == C.c.property_id))
            .where(C.c.computehost_id == H.c.id,
                   P.c.resource_type == resource_type,
                   P.c.property_name == requirement.name,
                   value_clause)
            .exists())


# The search -------------------------------------------------------------------------

# Every value of the search is a bound parameter, so that a statement of a given shape
# is built (and compiled) once per process.
_START = sa.bindparam('b_start', type_=UTCDateTime())
_END = sa.bindparam('b_end', type_=UTCDateTime())
#: The window widened by the cleaning time on both sides, for callers' own clauses.
WINDOW_LO = sa.bindparam('b_lo', type_=UTCDateTime())   # start - cleaning time
WINDOW_HI = sa.bindparam('b_hi', type_=UTCDateTime())   # end + cleaning time
# lo - the longest allocation: nothing starting earlier can overlap (claims.bounded)
_FLOOR = sa.bindparam('b_floor', type_=UTCDateTime())
_EXCLUDE = sa.bindparam('b_exclude', type_=sa.String())
_PREFERRED = sa.bindparam('b_preferred', expanding=True, type_=sa.Integer())
_SAMPLE = sa.bindparam('b_sample', type_=sa.Integer())
_LIMIT = sa.bindparam('b_limit', type_=sa.Integer())
# Large enough never to cut anything: a LIMIT keeps the databases from merging a
# subquery into the outer one, which would evaluate each per-host probe again for
# every use in ORDER BY.
_NO_MERGE = 2 ** 31 - 1
_STATEMENTS = {}


def _healthy():
    """The outer host is not down (:mod:`climate.db.host_health`) and has no
    maintenance window overlapping ``[lo, hi)``."""
    in_maintenance = (sa.select(M.c.id)
                      .where(M.c.compute_host_id == H.c.id, M.c.start_date < WINDOW_HI,
                             M.c.end_date > WINDOW_LO)
                      .exists())
    return sa.and_(sa.or_(H.c.status.is_(None), H.c.status != 'down'),
                   ~in_maintenance)


def _own(excluding):
    return [A.c.reservation_id != _EXCLUDE] if excluding else []


def _overlapping(excluding):
    """Allocations of the outer host overlapping ``[lo, hi)``: whole-host ones or
    slices of capacity reservations."""
    whole = (sa.select(A.c.id)
             .where(A.c.compute_host_id == H.c.id, A.c.start_date < WINDOW_HI,
                    A.c.start_date >= _FLOOR, A.c.end_date > WINDOW_LO,
                    *_own(excluding))
             .exists())
    sliced = (sa.select(S.c.id)
              .where(S.c.compute_host_id == H.c.id, S.c.start_date < WINDOW_HI,
                     S.c.start_date >= _FLOOR, S.c.end_date > WINDOW_LO,
                     *([S.c.reservation_id != _EXCLUDE] if excluding else []))
              .exists())
    return sa.or_(whole, sliced)


def _by_host(probe):
    """A probe of one host's neighbours reads its allocations through the host's
    index: MariaDB otherwise may take the (start_date, ...) one and read every host's
    allocations after the window, for each host probed."""
    return sqlfunc.force_index(probe, A, 'ix_computehost_allocations_host_window')


def _last_end_before(host_id, excluding):
    """The latest end among the host's allocations starting before ``hi``: for a
    host free until ``hi``, the end of the allocation just before the window."""
    return _by_host(sa.select(sa.func.max(A.c.end_date))
                    .where(A.c.compute_host_id == host_id,
                           A.c.start_date < WINDOW_HI, *_own(excluding))
                    ).scalar_subquery()


def _first_start_from(host_id, excluding):
    return _by_host(sa.select(sa.func.min(A.c.start_date))
                    .where(A.c.compute_host_id == host_id,
                           A.c.start_date >= WINDOW_HI, *_own(excluding))
                    ).scalar_subquery()


def _ranked(strategy, clauses, excluding, preferring, sampling):
    """The candidates query, best first.

    Free hosts come out of one NOT EXISTS probe each, in random order (preferred ones
    first). ``random`` takes the first ``limit`` of them. ``best_fit`` and ``spread``
    take a sample of them (all without sampling), probe each sampled host for its
    neighbouring allocations and rank by the free block around the window.
    """
    first = [sa.case((H.c.id.in_(_PREFERRED), 0), else_=1)] if preferring else []
    free = (sa.select(H.c.id, H.c.generation, H.c.service_name)
            .where(H.c.reservable.is_(True), _healthy(), ~_overlapping(excluding),
                   *clauses))
    if strategy == RANDOM:
        return (free.add_columns(claims.longest_column())
                .order_by(*first, sa.func.random()).limit(_LIMIT))
    if strategy not in (BEST_FIT, SPREAD):
        raise ValueError(f'unknown host selection strategy {strategy!r}')
    if sampling:
        drawn = free.order_by(*first, sa.func.random()).limit(_SAMPLE)
    else:
        drawn = free.limit(_NO_MERGE)
    drawn = drawn.subquery('drawn')
    probes = (
        sa.select(drawn.c.id, drawn.c.generation, drawn.c.service_name,
                  _last_end_before(drawn.c.id, excluding).label('before'),
                  _first_start_from(drawn.c.id, excluding).label('after'))
        .limit(_NO_MERGE)
        .subquery('probes'))
    before, after = probes.c.before, probes.c.after
    # Hosts with nothing before or after the window are "open" on that side; the
    # free block is measured on the closed sides only.
    open_sides = (sa.case((before.is_(None), 1), else_=0)
                  + sa.case((after.is_(None), 1), else_=0))
    block = sqlfunc.seconds_between(sa.func.coalesce(before, _START),
                                    sa.func.coalesce(after, _END))
    if strategy == BEST_FIT:
        ranking = [open_sides.asc(), block.asc()]
    else:
        ranking = [open_sides.desc(), block.desc()]
    if preferring:
        first = [sa.case((probes.c.id.in_(_PREFERRED), 0), else_=1)]
    return (sa.select(probes.c.id, probes.c.generation, probes.c.service_name,
                      claims.longest_column())
            .order_by(*first, *ranking, sa.func.random())
            .limit(_LIMIT))


def _kept(key, clauses, build):
    """``build()``, kept under ``key`` when there are no requirement ``clauses``
    (those differ per request; a statement without them is built once)."""
    if clauses:
        return build()
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = build()
    return statement


def _statement(strategy, clauses, excluding, preferring, sampling):
    return _kept((strategy, excluding, preferring, sampling), clauses,
                 lambda: _ranked(strategy, clauses, excluding, preferring, sampling))


@db_api.reader
def find_free_hosts(context, start, end, clauses, limit, strategy=BEST_FIT,
                    cleaning=datetime.timedelta(0), exclude_reservation=None,
                    preferred=(), sample=0):
    """Up to ``limit`` reservable hosts free in ``[start, end)`` ± ``cleaning``.

    :param clauses: WHERE clauses on ``computehosts``: the requirements (see
        :func:`requirement_clause`) and whatever else the resource type needs.
    :param exclude_reservation: ignore this reservation's own allocations (update).
    :param preferred: host ids ranked first (a reservation keeps its hosts).
    :param sample: how many free hosts ``best_fit``/``spread`` rank (0: all).
    :returns: a list of :class:`Candidate`, best first.
    """
    preferred = sorted(preferred)
    statement = _statement(strategy, tuple(clauses), exclude_reservation is not None,
                           bool(preferred), bool(sample))
    params = {'b_start': start, 'b_end': end, 'b_lo': timeutils.shift(start, -cleaning),
              'b_hi': timeutils.shift(end, cleaning), 'b_limit': limit,
              'b_sample': max(sample, limit + len(preferred))}
    if exclude_reservation is not None:
        params['b_exclude'] = exclude_reservation
    if preferred:
        params['b_preferred'] = preferred
    return [Candidate(*row[:3]) for row in _bounded(context, statement, params)]


def _bounded(context, statement, params):
    """The rows of ``statement`` (hosts, :func:`climate.db.claims.longest_column`
    last), its reads of allocations bounded below."""
    def search(span):
        return context.session.execute(
            statement, dict(params, b_floor=params['b_lo'] - span)).all()
    return claims.bounded(context, search, claims.read_longest)


# Before any allocation: the floor of a recheck, which reads a host's allocations whole.
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def claim_free(context, hosts, start, end, clauses, cleaning=datetime.timedelta(0),
               exclude_reservation=None, span=None):
    """Claim ``hosts``, found by :func:`find_free_hosts` with the same arguments, for
    allocations of ``span`` (the window's length unless given).

    A host whose generation moved since the search (another transaction claimed it,
    often for another window) is not lost at once: once this transaction holds its
    row, it is checked again, as the search checked it, against the latest committed
    rows, and kept if it still fits. Only a host that no longer fits (or, on Galera,
    a write through another node) makes the caller's transaction start over.

    :raises ClaimConflict: see :func:`climate.db.claims.claim`.
    """
    excluding = exclude_reservation is not None
    params = {'b_lo': timeutils.shift(start, -cleaning),
              'b_hi': timeutils.shift(end, cleaning), 'b_floor': _EPOCH}
    if excluding:
        params['b_exclude'] = exclude_reservation

    def recheck(host_ids):
        # An UPDATE, not a SELECT: its WHERE reads the latest committed rows on every
        # backend (MariaDB's REPEATABLE READ snapshot would hide the other
        # transaction's allocation from a SELECT; an UPDATE's subqueries are locking
        # reads there), after the caller's lock made any such transaction finish.
        # The floor is not bounded: a longer allocation may have just been committed.
        return context.session.execute(_recheck_statement(tuple(clauses), excluding),
                                       dict(params, b_ids=host_ids)).rowcount

    claims.claim(context, hosts, end - start if span is None else span,
                 recheck=recheck)


def _recheck_statement(clauses, excluding):
    """:func:`claim_free`'s recheck of hosts ``b_ids``, built once per shape when
    there are no requirement clauses (building it cost ~0.5 ms of CPU)."""
    return _kept(('recheck', excluding), clauses, lambda: (
        sa.update(H)
        .where(H.c.id.in_(sa.bindparam('b_ids', expanding=True)),
               H.c.reservable.is_(True), _healthy(), ~_overlapping(excluding), *clauses)
        .values(generation=H.c.generation + 1, updated_at=H.c.updated_at)
        .execution_options(synchronize_session=False)))


@db_api.reader
def free_generations(context, host_ids, start, end, cleaning=datetime.timedelta(0),
                     exclude_reservation=None):
    """The :class:`~climate.db.claims.HostGeneration` of those of ``host_ids`` that
    are free in ``[start, end)`` ± ``cleaning`` (whether reservable or not), read in
    the statement that checks it, for a caller that must claim these very hosts."""
    if not host_ids:
        return []
    excluding = exclude_reservation is not None
    statement = (sa.select(H.c.id, H.c.generation, claims.longest_column())
                 .where(H.c.id.in_(sorted(host_ids)), ~_overlapping(excluding)))
    params = {'b_lo': timeutils.shift(start, -cleaning),
              'b_hi': timeutils.shift(end, cleaning)}
    if excluding:
        params['b_exclude'] = exclude_reservation
    return [claims.HostGeneration(*row[:2]) for row in
            _bounded(context, statement, params)]
