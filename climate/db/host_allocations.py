"""Host allocations: the free-host search, the atomic claim, and the listings.

The search
    One statement finds the reservable hosts that match a request's requirements
    and have no allocation overlapping ``[start - cleaning, end + cleaning)``, ranks
    them by the choice strategy and returns the first ``limit`` with their
    ``generation``. Every check is a correlated probe of the
    ``(compute_host_id, start_date, end_date)`` index or of the capabilities' unique
    ``(computehost_id, property_id)`` index: one per matching host to know it is
    free, two more per host the strategy ranks (a random sample of the free ones,
    ``[physical:host] selection_sample``). The cost grows with the number of
    candidate hosts (and the few allocations each holds before the window's end;
    ended reservations keep none), not with the number of allocations elsewhere,
    and there is no per-host round trip.

The claim (invariant 1, no double booking)
    ``UPDATE computehosts SET generation = generation + 1 WHERE (id = :h1 AND
    generation = :g1) OR …`` for the chosen hosts, in the transaction that then
    inserts the allocation rows. Whoever adds or extends an allocation on a host
    bumps its generation this way, conditioned on the generation read *in the same
    statement* as the overlap check; so of two transactions that saw the same host
    free, the second one's UPDATE matches fewer rows than it names and it raises
    :class:`~climate.exceptions.ClaimConflict` (the manager retries the whole
    transaction on fresh data). This holds at the default isolation levels: on
    PostgreSQL (READ COMMITTED) the blocked UPDATE re-checks the committed row, on
    MariaDB/MySQL (REPEATABLE READ) UPDATE reads the latest committed row, on Galera
    the loser fails certification (a deadlock error, also retried), and SQLite runs
    one writer at a time (``BEGIN IMMEDIATE``). No ``SELECT … FOR UPDATE`` anywhere.
"""

import dataclasses
import datetime
import uuid

import sqlalchemy as sa

from climate.common import timeutils
from climate import exceptions
from climate.db import api as db_api
from climate.db import models
from climate.db import sqlfunc
from climate.db.types import UTCDateTime

H = models.ComputeHost.__table__
A = models.ComputeHostAllocation.__table__
C = models.ComputeHostExtraCapability.__table__
P = models.ResourceProperty.__table__
R = models.Reservation.__table__
RESOURCE_TYPE = 'physical:host'

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
class Candidate:
    host_id: int
    generation: int
    service_name: str


# Requirements as SQL ------------------------------------------------------------------

def requirement_clause(requirement, numeric_fields, text_fields):
    """A WHERE clause on ``computehosts`` for one parsed requirement.

    Host fields compare directly (numbers as numbers, text bytewise); a capability
    must exist on the host and compare numerically when the requested value is a
    number (``capability_number``), bytewise otherwise.
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
                   P.c.resource_type == RESOURCE_TYPE,
                   P.c.property_name == requirement.name,
                   value_clause)
            .exists())


# The search -------------------------------------------------------------------------

# Every value of the search is a bound parameter, so that a statement of a given shape
# is built (and compiled) once per process.
_START = sa.bindparam('b_start', type_=UTCDateTime())
_END = sa.bindparam('b_end', type_=UTCDateTime())
_LO = sa.bindparam('b_lo', type_=UTCDateTime())         # start - cleaning time
_HI = sa.bindparam('b_hi', type_=UTCDateTime())         # end + cleaning time
_EXCLUDE = sa.bindparam('b_exclude', type_=sa.String())
_PREFERRED = sa.bindparam('b_preferred', expanding=True, type_=sa.Integer())
_SAMPLE = sa.bindparam('b_sample', type_=sa.Integer())
_LIMIT = sa.bindparam('b_limit', type_=sa.Integer())
# Large enough never to cut anything: a LIMIT keeps the databases from merging a
# subquery into the outer one, which would evaluate each per-host probe again for
# every use in ORDER BY.
_NO_MERGE = 2 ** 31 - 1
_STATEMENTS = {}


def _own(excluding):
    return [A.c.reservation_id != _EXCLUDE] if excluding else []


def _overlapping(excluding):
    """Allocations of the outer host overlapping ``[lo, hi)``."""
    return (sa.select(A.c.id)
            .where(A.c.compute_host_id == H.c.id, A.c.start_date < _HI,
                   A.c.end_date > _LO, *_own(excluding))
            .exists())


def _last_end_before(host_id, excluding):
    """The latest end among the host's allocations starting before ``hi``: for a
    host free until ``hi``, the end of the allocation just before the window."""
    return (sa.select(sa.func.max(A.c.end_date))
            .where(A.c.compute_host_id == host_id, A.c.start_date < _HI,
                   *_own(excluding))
            .scalar_subquery())


def _first_start_from(host_id, excluding):
    return (sa.select(sa.func.min(A.c.start_date))
            .where(A.c.compute_host_id == host_id, A.c.start_date >= _HI,
                   *_own(excluding))
            .scalar_subquery())


def _ranked(strategy, clauses, excluding, preferring, sampling):
    """The candidates query, best first.

    Free hosts come out of one NOT EXISTS probe each, in random order (preferred ones
    first). ``random`` takes the first ``limit`` of them. ``best_fit`` and ``spread``
    take a sample of them (all without sampling), probe each sampled host for its
    neighbouring allocations and rank by the free block around the window.
    """
    first = [sa.case((H.c.id.in_(_PREFERRED), 0), else_=1)] if preferring else []
    free = (sa.select(H.c.id, H.c.generation, H.c.service_name)
            .where(H.c.reservable.is_(True), ~_overlapping(excluding), *clauses))
    if strategy == RANDOM:
        return free.order_by(*first, sa.func.random()).limit(_LIMIT)
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
    return (sa.select(probes.c.id, probes.c.generation, probes.c.service_name)
            .order_by(*first, *ranking, sa.func.random())
            .limit(_LIMIT))


def _statement(strategy, clauses, excluding, preferring, sampling):
    if clauses:
        return _ranked(strategy, clauses, excluding, preferring, sampling)
    key = (strategy, excluding, preferring, sampling)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = _ranked(strategy, (), excluding, preferring,
                                               sampling)
    return statement


@db_api.reader
def find_free_hosts(context, start, end, clauses, limit, strategy=BEST_FIT,
                    cleaning=datetime.timedelta(0), exclude_reservation=None,
                    preferred=(), sample=0):
    """Up to ``limit`` reservable hosts free in ``[start, end)`` ± ``cleaning``.

    :param clauses: WHERE clauses on ``computehosts`` (see requirement_clause).
    :param exclude_reservation: ignore this reservation's own allocations (update).
    :param preferred: host ids ranked first (a reservation keeps its hosts).
    :param sample: how many free hosts ``best_fit``/``spread`` rank (0: all).
    :returns: a list of :class:`Candidate`, best first.
    """
    preferred = sorted(preferred)
    statement = _statement(strategy, tuple(clauses), exclude_reservation is not None,
                           bool(preferred), bool(sample))
    params = {'b_start': start, 'b_end': end, 'b_lo': start - cleaning,
              'b_hi': end + cleaning, 'b_limit': limit,
              'b_sample': max(sample, limit + len(preferred))}
    if exclude_reservation is not None:
        params['b_exclude'] = exclude_reservation
    if preferred:
        params['b_preferred'] = preferred
    return [Candidate(*row) for row in context.session.execute(statement, params)]


# The claim --------------------------------------------------------------------------

def claim(context, candidates):
    """Bump the generation of every candidate host, or none (ClaimConflict).

    Run inside the transaction that writes the allocations (``context.session``).
    """
    if not candidates:
        return
    ordered = sorted(candidates, key=lambda c: c.host_id)
    matched = context.session.execute(
        sa.update(H)
        .where(sa.or_(*[sa.and_(H.c.id == c.host_id, H.c.generation == c.generation)
                        for c in ordered]))
        .values(generation=H.c.generation + 1, updated_at=H.c.updated_at)
        .execution_options(synchronize_session=False)).rowcount
    if matched != len(ordered):
        raise exceptions.ClaimConflict(
            what='host(s) ' + ', '.join(str(c.host_id) for c in ordered))


def bump(context, host_ids):
    """Bump generations unconditionally (allocations removed: no check needed)."""
    if host_ids:
        context.session.execute(
            sa.update(H).where(H.c.id.in_(sorted(host_ids)))
            .values(generation=H.c.generation + 1, updated_at=H.c.updated_at)
            .execution_options(synchronize_session=False))


def insert(context, reservation_id, host_ids, start, end):
    if not host_ids:
        return
    now = timeutils.utcnow()
    context.session.execute(sa.insert(A), [
        {'id': str(uuid.uuid4()), 'compute_host_id': host_id,
         'reservation_id': reservation_id, 'start_date': start, 'end_date': end,
         'created_at': now} for host_id in sorted(host_ids)])


def move(context, reservation_id, start, end):
    """Give every allocation of the reservation the window ``[start, end)``."""
    context.session.execute(
        sa.update(A).where(A.c.reservation_id == reservation_id)
        .values(start_date=start, end_date=end, updated_at=timeutils.utcnow())
        .execution_options(synchronize_session=False))


def remove(context, reservation_id, host_ids=None):
    """Delete the reservation's allocations (of ``host_ids`` only, if given)."""
    query = sa.delete(A).where(A.c.reservation_id == reservation_id)
    if host_ids is not None:
        if not host_ids:
            return
        query = query.where(A.c.compute_host_id.in_(sorted(host_ids)))
    context.session.execute(query.execution_options(synchronize_session=False))


@db_api.reader
def hosts_of(context, reservation_id):
    """``{host id: service name}`` of the reservation's allocations."""
    return dict(context.session.execute(
        sa.select(A.c.compute_host_id, H.c.service_name)
        .join(H, H.c.id == A.c.compute_host_id)
        .where(A.c.reservation_id == reservation_id)).all())


@db_api.writer
def release(context, reservation_id):
    """Delete the reservation's allocations (end of the reservation)."""
    host_ids = set(hosts_of(context, reservation_id))
    remove(context, reservation_id)
    bump(context, host_ids)
    return host_ids


# Listings ---------------------------------------------------------------------------

@db_api.reader
def by_host(context, now, lease_id=None, reservation_id=None, host_id=None):
    """``[{"resource_id", "reservations": [...]}]``, one entry per host, in ONE query.

    Without a lease or reservation filter only allocations that have not ended are
    listed (as Blazar does); hosts without any still appear, with ``[]``.
    """
    on = [A.c.compute_host_id == H.c.id]
    if reservation_id is not None:
        on.append(A.c.reservation_id == reservation_id)
    if lease_id is not None:
        on.append(A.c.reservation_id.in_(
            sa.select(R.c.id).where(R.c.lease_id == lease_id)))
    if reservation_id is None and lease_id is None:
        on.append(A.c.end_date >= now)
    # Stored naive UTC: read as plain datetimes and format each distinct value once
    # (this listing may have tens of thousands of rows).
    query = (sa.select(H.c.id, A.c.reservation_id, R.c.lease_id,
                       sa.type_coerce(A.c.start_date, sa.DateTime()),
                       sa.type_coerce(A.c.end_date, sa.DateTime()))
             .select_from(H.outerjoin(A, sa.and_(*on))
                          .outerjoin(R, R.c.id == A.c.reservation_id))
             .order_by(H.c.id, A.c.start_date, A.c.reservation_id))
    if host_id is not None:
        query = query.where(H.c.id == host_id)
    formatted = {}

    def text(value):
        found = formatted.get(value)
        if found is None:
            found = formatted[value] = value.isoformat(timespec='microseconds')
        return found

    listed = []
    current_host, current = None, None
    for host, reservation, lease, start, end in context.session.execute(query):
        if host != current_host:
            current_host, current = host, []
            listed.append({'resource_id': str(host), 'reservations': current})
        if reservation is not None:
            current.append({'id': reservation, 'lease_id': lease,
                            'start_date': text(start), 'end_date': text(end)})
    return listed
