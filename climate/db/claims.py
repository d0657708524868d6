"""The claim on compute hosts: no double booking, for every resource type.

Every reservation that takes capacity of compute hosts (whole hosts for
``physical:host`` today, slices of them for the capacity reservations to come) claims
those hosts here, and only here, so that all of them keep one invariant.

The invariant (no double booking)
    However many API workers and managers race, two transactions that each saw a host
    as having room for them cannot both commit an allocation on it. Each host row
    carries a ``generation``. A search reads it *in the same statement* that checks the
    host has room over the window (see :mod:`climate.db.host_search`), and the
    transaction that then writes allocations first runs::

        UPDATE computehosts SET generation = generation + 1
         WHERE (id = :h1 AND generation = :g1) OR (id = :h2 AND generation = :g2) ...

    Of two transactions that read the same generation of a host, the one whose UPDATE
    comes second matches fewer rows than it names, and :func:`claim` raises
    :class:`~climate.exceptions.ClaimConflict` before it writes anything. The caller
    does not handle it: the lease service's transaction retry (``climate.db.retry``)
    runs the whole transaction again on fresh data, where the search no longer offers
    the lost host.

    A moved generation says that the host changed, not that it no longer fits: the
    other transaction may have taken another window. A caller that can say what
    "fits" means gives ``recheck``: the claim then locks the hosts (an UPDATE
    without the generation test, which waits for the other transaction to end) and
    has them checked again against the latest committed rows; it fails only if one
    no longer fits (:func:`climate.db.host_search.claim_free`).

Why it holds on every supported database, at its default isolation level and with no
``SELECT ... FOR UPDATE``:

* PostgreSQL (READ COMMITTED): the second UPDATE waits for the first transaction's
  row lock, then re-evaluates its WHERE on the committed row, whose generation moved;
* MariaDB/MySQL (REPEATABLE READ): an UPDATE reads the latest committed version of
  the row, not the transaction's snapshot, with the same outcome;
* Galera: the loser fails certification or is aborted by the winner's replicated
  write (error 1213, oslo.db's DBDeadlock), which the same retry handles;
  ``tests/functional/plugins/physical_host/test_galera.py`` races managers writing
  through different nodes;
* SQLite: one writer at a time (``BEGIN IMMEDIATE``), so the second transaction's
  search already sees the first one's allocations.

Whoever adds or widens an allocation on a host must claim it here; removing or
shrinking one only needs :func:`bump` (nobody can lose capacity by it, but a search
that read the old generation should still start over). A change of a host that could
change which requests it suits (capabilities, ``reservable``, deletion) bumps the
generation too (:mod:`climate.db.hosts`).

Both functions run inside the caller's writer transaction (``context.session``), the
one that writes the allocation rows, so that the claim and the allocations commit or
roll back together.

The longest allocation
    A search for what overlaps ``[lo, hi)`` would have to read every allocation that
    starts before ``hi``, past ones included, if nothing bounded allocations' length.
    The claim also records, in the same UPDATE, the length of the window the caller
    is about to write (``computehosts.longest_allocation``, seconds, never lowered),
    so every committed allocation is no longer than ``MAX(longest_allocation)`` as
    committed with it, and a search only reads allocations starting after ``lo``
    minus that (:func:`bounded`), checked after it or, in the search's own
    statements, with :func:`longest_column`. One very long lease widens every
    search's scan, never its answer.
"""

import dataclasses
import datetime
import functools
import math
import threading
from typing import Callable
from typing import Iterable
from typing import Optional
from typing import TypeVar

import sqlalchemy as sa

from climate import exceptions
from climate.db import models

H = models.ComputeHost.__table__


@dataclasses.dataclass(frozen=True)
class HostGeneration:
    """A host as a search saw it: its id and the generation read with its room."""

    host_id: int
    generation: int


def claim(context, hosts: Iterable[HostGeneration], span: datetime.timedelta,
          recheck: Optional[Callable[[list], int]] = None) -> None:
    """Bump the generation of every one of ``hosts``, or fail.

    :param hosts: what the search returned (:class:`HostGeneration` or any subclass).
    :param span: the longest window the caller writes on them (end - start).
    :param recheck: when a host changed since it was read, ``recheck(host_ids)`` is
        asked, after this transaction has locked them all, how many of them are still
        fit for the caller, read from the latest committed rows (see
        :func:`climate.db.host_search.claim_free`): another transaction's allocation
        in another window changes the generation but takes nothing the caller wants.
    :raises ClaimConflict: one of them changed since it was read (and, with
        ``recheck``, no longer fits); the transaction must be rolled back and retried
        (part of the bumps may have been applied).
    """
    ordered = sorted(hosts, key=lambda h: h.host_id)
    if not ordered:
        return
    params = {'b_seconds': _seconds(span)}
    for index, host in enumerate(ordered):
        params[f'b_id{index}'], params[f'b_gen{index}'] = host.host_id, host.generation
    matched = context.session.execute(_claim_statement(len(ordered)), params).rowcount
    if matched == len(ordered):
        return
    if recheck is not None:
        ids = [h.host_id for h in ordered]
        # Wait for whoever changed them: once their rows are locked here, no other
        # transaction can add an allocation on them until this one ends, and what
        # they committed is there for the recheck to read.
        context.session.execute(_LOCK, {'b_ids': ids,
                                        'b_seconds': params['b_seconds']})
        if recheck(ids) == len(ids):
            return
    raise exceptions.ClaimConflict(
        what='host(s) ' + ', '.join(str(h.host_id) for h in ordered))


_SECONDS = sa.bindparam('b_seconds', type_=sa.BigInteger)


# Kept per count of hosts (the 64 counts used last): building one cost ~0.2 ms of
# CPU, more than the rest of the claim.
@functools.lru_cache(maxsize=64)
def _claim_statement(count):
    """The generation-guarded UPDATE of ``count`` hosts, every value bound (``b_idN``,
    ``b_genN``, ``b_seconds``)."""
    return (sa.update(H)
            .where(sa.or_(*[sa.and_(H.c.id == sa.bindparam(f'b_id{index}'),
                                    H.c.generation == sa.bindparam(f'b_gen{index}'))
                            for index in range(count)]))
            .values(**_claimed(_SECONDS))
            .execution_options(synchronize_session=False))


def _claimed(seconds):
    # Keep updated_at: a claim is not a change of the host an operator made.
    return dict(generation=H.c.generation + 1, updated_at=H.c.updated_at,
                longest_allocation=sa.case(
                    (H.c.longest_allocation < seconds, seconds),
                    else_=H.c.longest_allocation))


def bump(context, host_ids: Iterable[int]) -> None:
    """Bump the generation of ``host_ids`` unconditionally (allocations removed or
    shrunk: no capacity is taken, so there is nothing to check)."""
    host_ids = sorted(host_ids)
    if host_ids:
        context.session.execute(_BUMP, {'b_ids': host_ids})


_IDS = sa.bindparam('b_ids', expanding=True)
# The hosts locked (and their claims recorded) before a recheck.
_LOCK = (sa.update(H).where(H.c.id.in_(_IDS)).values(**_claimed(_SECONDS))
         .execution_options(synchronize_session=False))
_BUMP = (sa.update(H).where(H.c.id.in_(_IDS))
         .values(generation=H.c.generation + 1, updated_at=H.c.updated_at)
         .execution_options(synchronize_session=False))


def _seconds(span):
    return max(0, math.ceil(span.total_seconds()))


def longest(context) -> datetime.timedelta:
    """No committed allocation on any host is longer than this."""
    seconds = context.session.execute(
        sa.select(sa.func.max(H.c.longest_allocation))).scalar()
    return datetime.timedelta(seconds=seconds or 0)


T = TypeVar('T')


class _Guess:
    """The longest allocation this process has seen: the first bound a search tries,
    so that it needs no extra statement before it (only one after, to check)."""

    lock = threading.Lock()
    value = datetime.timedelta(0)

    @classmethod
    def raise_to(cls, value):
        with cls.lock:
            cls.value = max(cls.value, value)


def longest_column():
    """:func:`longest` as a column, for a search to read the check in its own
    statement (:func:`read_longest`) and save the statement :func:`bounded` would
    run after it."""
    hosts = H.alias('longest_of')
    return (sa.select(sa.func.coalesce(sa.func.max(hosts.c.longest_allocation), 0))
            .scalar_subquery().label('longest'))


def read_longest(*statements_rows) -> datetime.timedelta:
    """The check :func:`bounded` needs from statements that each read
    :func:`longest_column` last and return *hosts* (that passed a bounded test): the
    largest value read. A statement that returned no host needs none: a short span
    can only let a host through that should not pass, never keep one out."""
    return datetime.timedelta(seconds=max(
        (rows[0][-1] or 0 for rows in statements_rows if rows), default=0))


def bounded(context, search: Callable[[datetime.timedelta], T],
            checked: Optional[Callable[[T], datetime.timedelta]] = None) -> T:
    """``search(span)``, where ``span`` bounds every allocation the search must see:
    it may read only those starting after ``lo - span``.

    The span is a guess, checked after the search: every allocation the search's
    statements could see was committed with a ``longest_allocation`` that the check,
    read later (or in the same snapshot), sees too, as the column is never lowered.
    When the guess was short, the search runs again with the longer span.

    :param checked: ``checked(found)``, the check as the search's own statements
        read it (:func:`read_longest`); without it, one more statement reads it.
    """
    while True:
        span = _Guess.value
        found = search(span)
        actual = checked(found) if checked is not None else longest(context)
        if actual <= span:
            return found
        _Guess.raise_to(actual)
