"""Queries on leases, their reservations and events.

Functions take a context and run in the caller's transaction when there is one
(``@reader``/``@writer`` join an enclosing transaction of the same context).
"""

import sqlalchemy as sa
from oslo_db.sqlalchemy import utils as db_utils

from climate import exceptions
from climate.db import api as db_api
from climate.db import models
from climate.manager import states

SORT_KEYS = ('created_at', 'name', 'start_date', 'end_date', 'status', 'id')


@db_api.reader
def get(context, lease_id):
    lease = context.session.get(models.Lease, lease_id)
    if lease is None:
        raise exceptions.LeaseNotFound(lease_id=lease_id)
    return lease


@db_api.reader
def list_leases(context, project_id=None, status=None, name=None, limit=None,
                marker=None, sort_key='created_at', sort_dir='asc'):
    """Leases, filtered and paginated in SQL (``marker`` is the last id of a page)."""
    if sort_key not in SORT_KEYS:
        raise exceptions.InvalidInput(reason=f'sort_key must be one of {", ".join(SORT_KEYS)}')
    if sort_dir not in ('asc', 'desc'):
        raise exceptions.InvalidInput(reason='sort_dir must be asc or desc')
    query = context.session.query(models.Lease)
    if project_id is not None:
        query = query.filter(models.Lease.project_id == project_id)
    if status is not None:
        query = query.filter(models.Lease.status == status)
    if name is not None:
        query = query.filter(models.Lease.name == name)
    marker_row = None
    if marker is not None:
        marker_row = context.session.get(models.Lease, marker)
        if marker_row is None:
            raise exceptions.InvalidInput(reason=f'marker {marker} not found')
    keys = [sort_key] if sort_key == 'id' else [sort_key, 'id']
    query = db_utils.paginate_query(query, models.Lease, limit, keys, marker=marker_row,
                                    sort_dir=sort_dir)
    return query.all()


@db_api.writer
def set_status(context, lease_id, target, reason=None, expected=None):
    """Conditionally move a lease to ``target``; return the status it had.

    ``expected`` narrows the allowed sources (default: every status the state machine
    allows into ``target``). Raises InvalidStatus when the lease was not in one of them.
    """
    allowed = states.sources('lease', target)
    if expected is not None:
        allowed = [s for s in allowed if s in expected]
    lease = get(context, lease_id)
    current = lease.status
    result = context.session.execute(
        sa.update(models.Lease)
        .where(models.Lease.id == lease_id, models.Lease.status.in_(allowed))
        .values(status=target, status_reason=reason)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        context.session.expire(lease)
        raise exceptions.InvalidStateTransition(kind='lease', id=lease_id,
                                                current=get(context, lease_id).status,
                                                target=target)
    context.session.expire(lease)
    return current


@db_api.writer
def set_reservation_status(context, reservation_id, target):
    reservation = context.session.get(models.Reservation, reservation_id)
    if reservation.status == target:
        return
    states.check('reservation', reservation_id, reservation.status, target)
    reservation.status = target


@db_api.reader
def stuck(context, status, older_than):
    """Leases left in a transitional ``status`` since before ``older_than``."""
    changed = sa.func.coalesce(models.Lease.updated_at, models.Lease.created_at)
    return (context.session.query(models.Lease)
            .filter(models.Lease.status == status, changed < older_than).all())
