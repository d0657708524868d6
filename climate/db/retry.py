"""Retrying a transaction that lost to a concurrent one.

A claim is lost in three ways, all meaning "another transaction got there first, try
again on fresh data": a plugin's compare-and-update matched fewer rows
(``ClaimConflict``), the database picked this transaction as a deadlock victim
(``DBDeadlock``, also how Galera reports a failed certification), or SQLite's write lock
stayed taken longer than its busy timeout ("database is locked").
:func:`with_claim_retries` retries a whole claiming transaction.

Short writes outside a claim (a lease's conditional status UPDATE) can lose the same
way on Galera: two managers writing one row through different nodes both succeed
locally and one fails certification at commit. :func:`on_deadlock` retries such a
function when it is its own transaction, so that the loser runs its conditional
UPDATE again on the winner's row and ends as the ordinary ``InvalidStateTransition``.
"""

import functools
import random
import time
from typing import Callable
from typing import TypeVar

from oslo_db import exception as db_exc
from oslo_log import log as logging
from sqlalchemy import exc as sa_exc

from climate import exceptions
from climate.db import sqlite

LOG = logging.getLogger(__name__)
T = TypeVar('T')

# Seconds: the upper bound of the random pause before the n-th retry grows as
# JITTER * (2**n - 2): 0, 10 ms, 30 ms, 70 ms… and never exceeds MAX_PAUSE.
JITTER = 0.005
MAX_PAUSE = 0.5


def pause_before(attempt: int) -> float:
    """A random pause (seconds) before the retry that follows ``attempt`` (1-based).

    The first retry is immediate (the winner has committed); later ones are spread
    out so that the same losers do not collide again.
    """
    return random.uniform(0, min(JITTER * (2 ** attempt - 2), MAX_PAUSE))


def with_claim_retries(operation: Callable[[], T], retries: int) -> T:
    """Run ``operation`` (one whole transaction) up to ``retries`` times while its
    claim is lost; then a 409 ``Conflict``. Other errors go through at once."""
    for attempt in range(1, retries + 1):
        try:
            return operation()
        except (exceptions.ClaimConflict, db_exc.DBDeadlock) as exc:
            LOG.debug('Claim conflict (attempt %d of %d): %s', attempt, retries, exc)
        except sa_exc.OperationalError as exc:
            if not sqlite.is_locked_error(exc):
                raise
            LOG.warning('SQLite busy (attempt %d of %d): %s', attempt, retries, exc)
        if attempt < retries:
            time.sleep(pause_before(attempt))
    raise exceptions.Conflict(reason='too many concurrent changes to the same '
                                     'resources; try again')


#: Attempts of a short write that keeps losing to concurrent ones (:func:`on_deadlock`).
DEADLOCK_ATTEMPTS = 5


def _in_transaction(context):
    try:
        context.session
    except db_exc.NoEngineContextEstablished:
        return False
    return True


def on_deadlock(function):
    """Decorate ``function(context, ...)`` (a ``@writer``) to run again on deadlock.

    Only when the call begins the transaction: inside a caller's transaction the
    failure belongs to that transaction, and it goes through to whoever began it.
    """
    @functools.wraps(function)
    def wrapper(context, *args, **kwargs):
        if _in_transaction(context):
            return function(context, *args, **kwargs)
        for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
            try:
                return function(context, *args, **kwargs)
            except db_exc.DBDeadlock as exc:
                if attempt == DEADLOCK_ATTEMPTS:
                    raise exceptions.Conflict(
                        reason='too many concurrent changes to the same lease; '
                               'try again') from exc
                LOG.debug('%s lost to a concurrent write (attempt %d of %d): %s',
                          function.__name__, attempt, DEADLOCK_ATTEMPTS, exc)
            time.sleep(pause_before(attempt + 1))
    return wrapper
