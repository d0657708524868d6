"""Retrying a transaction whose capacity claim lost to a concurrent one.

A claim is lost in three ways, all meaning "another transaction got there first, try
again on fresh data": a plugin's compare-and-update matched fewer rows
(``ClaimConflict``), the database picked this transaction as a deadlock victim
(``DBDeadlock``, also how Galera reports a failed certification), or SQLite's write lock
stayed taken longer than its busy timeout ("database is locked").
"""

import random
import time
from typing import Callable, TypeVar

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
