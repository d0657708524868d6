"""Queries on leases, their reservations and events.

Functions take a context and run in the caller's transaction when there is one
(``@reader``/``@writer`` join an enclosing transaction of the same context).
"""

from oslo_db.sqlalchemy import utils as db_utils
import sqlalchemy as sa
from sqlalchemy import orm

from climate import exceptions
from climate.common import states
from climate.db import api as db_api
from climate.db import models
from climate.db import retry

#: The columns a listing may be sorted by (checked by the caller, the lease service).
SORT_KEYS = ('created_at', 'name', 'start_date', 'end_date', 'status', 'id')
SORT_DIRS = ('asc', 'desc')


@db_api.reader
def get(context, lease_id):
    """A lease with its reservations and events, in one query."""
    query = (sa.select(models.Lease).where(models.Lease.id == lease_id)
             .options(orm.joinedload(models.Lease.reservations),
                      orm.joinedload(models.Lease.events)))
    lease = context.session.execute(query).unique().scalar_one_or_none()
    if lease is None:
        raise exceptions.LeaseNotFound(lease_id=lease_id)
    return lease


@db_api.reader
def list_leases(context, project_id=None, status=None, name=None, limit=None,
                marker=None, sort_key='created_at', sort_dir='asc'):
    """Leases, filtered and paginated in SQL (``marker`` is the last id of a page).

    ``sort_key`` is one of :data:`SORT_KEYS` and ``sort_dir`` one of
    :data:`SORT_DIRS`, as the caller checked.

    :raises LeaseNotFound: when ``marker`` is no lease.
    """
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
        # Another project's lease is no marker of this listing: answered as an unknown
        # id, so that a marker cannot probe for other projects' lease ids.
        if marker_row is None or (project_id is not None and
                                  marker_row.project_id != project_id):
            raise exceptions.LeaseNotFound(lease_id=marker)
    keys = [sort_key] if sort_key == 'id' else [sort_key, 'id']
    query = db_utils.paginate_query(query, models.Lease, limit, keys, marker=marker_row,
                                    sort_dir=sort_dir)
    return query.all()


_L, _R, _E = models.Lease, models.Reservation, models.Event
_PLAIN_LEASE = sa.select(_L.id, _L.name, _L.project_id, _L.user_id, _L.trust_id,
                         _L.start_date, _L.end_date, _L.status).where(
    _L.id == sa.bindparam('lease_id'))
_PLAIN_RESERVATIONS = sa.select(_R.id, _R.lease_id, _R.resource_type, _R.resource_id,
                                _R.status).where(
    _R.lease_id == sa.bindparam('lease_id')).order_by(_R.created_at, _R.id)
_EVENT_STATUSES = sa.select(_E.event_type, _E.status).where(
    _E.lease_id == sa.bindparam('lease_id'))
_LEASE_OF_EVENT = sa.select(_E.event_type, _E.lease_id).where(
    _E.id == sa.bindparam('event_id'))


@db_api.reader
def plain(context, lease_id):
    """A lease as plugins see it: plain values, reservations, and event statuses.

    Core queries, not ORM objects: this is on the path of every event.
    """
    params = {'lease_id': lease_id}
    row = context.session.execute(_PLAIN_LEASE, params).one_or_none()
    if row is None:
        raise exceptions.LeaseNotFound(lease_id=lease_id)
    lease = dict(row._mapping)
    lease['reservations'] = [dict(r._mapping) for r in
                             context.session.execute(_PLAIN_RESERVATIONS, params)]
    lease['events'] = dict(context.session.execute(_EVENT_STATUSES, params).all())
    return lease


@db_api.reader
def event_and_lease(context, event_id):
    """``(event_type, plain lease)`` of an event."""
    row = context.session.execute(_LEASE_OF_EVENT, {'event_id': event_id}).one()
    return row.event_type, plain(context, row.lease_id)


_SET_STATUS = (sa.update(_L)
               .where(_L.id == sa.bindparam('lease_id'),
                      _L.status.in_(sa.bindparam('expected', expanding=True)))
               .values(status=sa.bindparam('b_target'),
                       status_reason=sa.bindparam('b_reason'))
               .execution_options(synchronize_session=False))
_STATUS_OF = sa.select(_L.status).where(_L.id == sa.bindparam('lease_id'))


@retry.on_deadlock
@db_api.writer
def set_status(context, lease_id, target, expected, reason=None):
    """Move a lease to ``target`` only if it is still in one of ``expected``.

    One conditional UPDATE: a caller that read the lease as PENDING passes
    ``expected=['PENDING']`` and loses cleanly (InvalidStateTransition) if anybody
    changed it meanwhile. Transitions the state machine does not list are refused.
    Run as its own transaction, a commit that lost to a concurrent write of the row
    (Galera's certification failure, DBDeadlock) is run again
    (:func:`climate.db.retry.on_deadlock`): the loser then sees the winner's status.
    """
    for current in expected:
        states.check('lease', lease_id, current, target)
    result = context.session.execute(_SET_STATUS, {
        'lease_id': lease_id, 'expected': list(expected), 'b_target': target,
        'b_reason': reason})
    if result.rowcount != 1:
        current = context.session.execute(_STATUS_OF, {'lease_id': lease_id}).scalar()
        if current is None:
            raise exceptions.LeaseNotFound(lease_id=lease_id)
        raise exceptions.InvalidStateTransition(kind='lease', id=lease_id,
                                                current=current, target=target)


_SET_RESERVATION_STATUS = (
    sa.update(_R)
    .where(_R.id == sa.bindparam('reservation_id'),
           _R.status.in_(sa.bindparam('sources', expanding=True)))
    .values(status=sa.bindparam('b_target'))
    .execution_options(synchronize_session=False))


@retry.on_deadlock
@db_api.writer
def set_reservation_status(context, reservation_id, target):
    """Move a reservation to ``target`` from any status the state machine allows."""
    context.session.execute(_SET_RESERVATION_STATUS, {
        'reservation_id': reservation_id, 'b_target': target,
        'sources': states.sources('reservation', target) + [target]})


@db_api.reader
def stuck(context, status, older_than):
    """Leases left in a transitional ``status`` since before ``older_than``."""
    changed = sa.func.coalesce(models.Lease.updated_at, models.Lease.created_at)
    return (context.session.query(models.Lease)
            .filter(models.Lease.status == status, changed < older_than).all())
