"""Idempotency keys of lease creations (``idempotency_keys``).

A key is the client's name for one create request: the same key from the same project,
within the time to live, means "the same request again". Keys older than the time to
live no longer count and are deleted a few at a time by later creates.
"""

import datetime

import sqlalchemy as sa

from climate.common import timeutils
from climate.db import api as db_api
from climate.db import models

# At most this many expired keys are deleted by one create.
PURGE_BATCH = 100


def _oldest_valid(ttl):
    return timeutils.utcnow() - datetime.timedelta(seconds=ttl)


@db_api.reader
def find(context, project_id, key, ttl):
    """The unexpired row of ``key`` in ``project_id``, or None."""
    query = sa.select(models.IdempotencyKey).where(
        models.IdempotencyKey.project_id == project_id,
        models.IdempotencyKey.idempotency_key == key,
        models.IdempotencyKey.created_at > _oldest_valid(ttl))
    return context.session.execute(query).scalar_one_or_none()


@db_api.writer
def purge(context, project_id, key, ttl):
    """Delete the expired row of ``key`` (which would block its reuse) and up to
    :data:`PURGE_BATCH` other expired rows."""
    table = models.IdempotencyKey
    oldest = _oldest_valid(ttl)
    context.session.execute(sa.delete(table).where(
        table.project_id == project_id, table.idempotency_key == key,
        table.created_at <= oldest))
    # Ids first: MySQL refuses LIMIT in a subquery of IN.
    ids = context.session.execute(
        sa.select(table.id).where(table.created_at <= oldest)
        .order_by(table.created_at).limit(PURGE_BATCH)).scalars().all()
    if ids:
        context.session.execute(sa.delete(table).where(table.id.in_(ids)))


@db_api.writer
def add(context, project_id, key, digest, lease_id):
    """Record ``key`` for ``lease_id`` in the caller's transaction (flushed, so a
    concurrent holder of the key raises ``DBDuplicateEntry`` here)."""
    context.session.add(models.IdempotencyKey(
        project_id=project_id, idempotency_key=key, fingerprint=digest,
        lease_id=lease_id))
    context.session.flush()


@db_api.writer
def forget(context, lease_id):
    """Delete the keys of ``lease_id`` (a create rolled back: the key may be reused)."""
    context.session.execute(sa.delete(models.IdempotencyKey).where(
        models.IdempotencyKey.lease_id == lease_id))
