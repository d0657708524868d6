"""Queries on leases, their reservations and events.

Functions take a context and run in the caller's transaction when there is one
(``@reader``/``@writer`` join an enclosing transaction of the same context).
"""

import functools
import operator

import sqlalchemy as sa
from sqlalchemy import orm

from climate import exceptions
from climate.common import states
from climate.common import timeutils
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
def get_many(context, lease_ids):
    """The leases of ``lease_ids`` that exist, as :func:`get` reads one, in one
    query."""
    query = (sa.select(models.Lease).where(models.Lease.id.in_(sorted(lease_ids)))
             .options(orm.joinedload(models.Lease.reservations),
                      orm.joinedload(models.Lease.events)))
    return list(context.session.execute(query).unique().scalars())


_L, _R, _E = models.Lease, models.Reservation, models.Event


def _naive(column):
    # Stored naive UTC, read as text ('YYYY-MM-DD HH:MM:SS[.ffffff]' on every backend):
    # a page has ~15,000 dates, and PyMySQL (pure Python) decodes a datetime at
    # three times the cost of its text; the views format the text.
    return sa.cast(column, sa.String()).label(column.key)


_LISTED_LEASE = sa.select(
    _L.id, _L.name, _L.project_id, _L.user_id, _L.trust_id, _naive(_L.start_date),
    _naive(_L.end_date), _L.status, _L.status_reason, _L.degraded,
    _naive(_L.created_at), _naive(_L.updated_at))
_LISTED_RESERVATIONS = sa.select(
    _R.id, _R.lease_id, _R.resource_type, _R.resource_id, _R.status,
    _R.missing_resources, _R.resources_changed, _naive(_R.created_at),
    _naive(_R.updated_at)).where(
    _R.lease_id.in_(sa.bindparam('lease_ids', expanding=True))).order_by(
    _R.created_at, _R.id)
_LISTED_EVENTS = sa.select(
    _E.id, _E.lease_id, _E.event_type, _naive(_E.time), _E.status, _E.error,
    _naive(_E.created_at), _naive(_E.updated_at)).where(
    _E.lease_id.in_(sa.bindparam('lease_ids', expanding=True))).order_by(_E.time, _E.id)
_MARKER = sa.select(*[getattr(_L, key) for key in SORT_KEYS], _L.project_id).where(
    _L.id == sa.bindparam('marker'))
# Lease ids per query of a page's reservations and events (bound parameters stay few).
_IN_BATCH = 500


def _sort_keys(sort_key):
    return [sort_key] if sort_key == 'id' else [sort_key, 'id']


def _after(marker, sort_key, sort_dir):
    """Rows after ``marker`` in the order of ``sort_key`` (then id) and ``sort_dir``."""
    keys = _sort_keys(sort_key)
    beyond = operator.gt if sort_dir == 'asc' else operator.lt
    clauses = []
    for index, key in enumerate(keys):
        equal = [getattr(_L, k) == getattr(marker, k) for k in keys[:index]]
        clauses.append(sa.and_(*equal, beyond(getattr(_L, key), getattr(marker, key))))
    return sa.or_(*clauses)


def _page(context, query, project_id, status, name, limit, marker, sort_key,
          sort_dir):
    """``query`` (a select of leases) filtered, ordered and limited as a page."""
    if project_id is not None:
        query = query.where(_L.project_id == project_id)
    if status is not None:
        query = query.where(_L.status == status)
    if name is not None:
        query = query.where(_L.name == name)
    if marker is not None:
        marker_row = context.session.execute(_MARKER, {'marker': marker}).one_or_none()
        if marker_row is None or (project_id is not None
                                  and marker_row.project_id != project_id):
            raise exceptions.LeaseNotFound(lease_id=marker)
        query = query.where(_after(marker_row, sort_key, sort_dir))
    order = sa.asc if sort_dir == 'asc' else sa.desc
    query = query.order_by(*[order(getattr(_L, key)) for key in _sort_keys(sort_key)])
    if limit is not None:
        query = query.limit(limit)
    return query


@db_api.reader
def list_leases(context, project_id=None, status=None, name=None, limit=None,
                marker=None, sort_key='created_at', sort_dir='asc'):
    """A page of leases, filtered and paginated in SQL (``marker`` is the last id of
    the previous page), as read-only rows: ``(leases, reservations, events)``, the
    last two lists of rows grouped by lease id.

    Three Core queries (the page, then its reservations and its events), not ORM
    objects: a page holds up to ``[api] max_limit`` leases and is read on every
    listing. ``sort_key`` is one of :data:`SORT_KEYS` and ``sort_dir`` one of
    :data:`SORT_DIRS`, as the caller checked.

    :raises LeaseNotFound: when ``marker`` is no lease of ``project_id`` (when given),
        alike for an unknown id and another project's lease.
    """
    query = _page(context, _LISTED_LEASE, project_id, status, name, limit, marker,
                  sort_key, sort_dir)
    leases = context.session.execute(query).all()
    reservations, events = {}, {}
    ids = [lease.id for lease in leases]
    for first in range(0, len(ids), _IN_BATCH):
        params = {'lease_ids': ids[first:first + _IN_BATCH]}
        for row in context.session.execute(_LISTED_RESERVATIONS, params):
            reservations.setdefault(row.lease_id, []).append(row)
        for row in context.session.execute(_LISTED_EVENTS, params):
            events.setdefault(row.lease_id, []).append(row)
    return leases, reservations, events


#: What :func:`list_page_rows` puts between the fixed-format fields of a row, and
#: between the events of a lease.
SEP = '\x1f'
EVENT_SEP = '\x1e'


def _packed(*columns):
    # One text per row for the fields whose text cannot hold SEP (ids the server made,
    # statuses, types, booleans, dates): PyMySQL (pure Python) decodes every value of
    # every row, and a page holds ~45,000 of them. NULL becomes '' (concatenation
    # with NULL is NULL).
    parts = []
    for column in columns:
        text = sa.cast(column, sa.String())
        if column.nullable:
            text = sa.func.coalesce(text, '')
        parts.append(text)
    packed = parts[0]
    for part in parts[1:]:
        packed = packed + sa.literal(SEP, sa.String()) + part
    return packed.label('packed')


# A lease's events in one text (time first, so that sorting the texts orders them as
# ``ORDER BY time, id`` would): a page's events were 3,000 of its 5,000 rows.
_EVENTS_OF_LEASE = sa.select(sa.func.aggregate_strings(
    _packed(_E.time, _E.id, _E.event_type, _E.status, _E.created_at, _E.updated_at),
    EVENT_SEP)).where(_E.lease_id == _L.id).scalar_subquery()
_PACKED_LEASE = sa.select(
    _packed(_L.id, _L.start_date, _L.end_date, _L.status, _L.degraded, _L.created_at,
            _L.updated_at),
    _L.name, _L.project_id, _L.user_id, _L.trust_id, _L.status_reason,
    _EVENTS_OF_LEASE.label('events'))
_PACKED_RESERVATIONS = sa.select(
    _packed(_R.id, _R.lease_id, _R.resource_type, _R.status, _R.missing_resources,
            _R.resources_changed, _R.created_at, _R.updated_at),
    _R.resource_id).where(
    _R.lease_id.in_(sa.bindparam('lease_ids', expanding=True))).order_by(
    _R.created_at, _R.id)
_EVENT_ERRORS = sa.select(_E.id, _E.error).where(
    _E.lease_id.in_(sa.bindparam('lease_ids', expanding=True)), _E.error.isnot(None))


@db_api.reader
def list_page_rows(context, project_id=None, status=None, name=None, limit=None,
                   marker=None, sort_key='created_at', sort_dir='asc'):
    """The page of :func:`list_leases` as plain tuples, fewest rows and values:
    ``(leases, reservations, errors)``.

    ``leases`` are ``(packed, name, project_id, user_id, trust_id, status_reason,
    events)`` in page order, ``packed`` being ``id, start_date, end_date, status,
    degraded, created_at, updated_at`` joined by :data:`SEP`, and ``events`` the
    lease's events joined by :data:`EVENT_SEP` in no order (None without any), each
    ``time, id, event_type, status, created_at, updated_at`` joined by :data:`SEP`
    (sorted, they are in :func:`list_leases`'s order). ``reservations`` are
    ``(packed, resource_id)`` with ``id, lease_id, resource_type, status,
    missing_resources, resources_changed, created_at, updated_at``, in
    :func:`list_leases`'s order; ``errors`` is ``{event_id: error}`` of the events
    that have one. Dates are naive UTC text (``YYYY-MM-DD HH:MM:SS[.ffffff]``),
    booleans ``0``/``1`` (``false``/``true`` on PostgreSQL), NULL ``''``.

    :raises LeaseNotFound: as :func:`list_leases`.
    """
    query = _page(context, _PACKED_LEASE, project_id, status, name, limit, marker,
                  sort_key, sort_dir)
    connection = context.session.connection()
    if connection.dialect.name == 'mysql':
        # MySQL cuts GROUP_CONCAT at 1,024 bytes by default (MariaDB at 1 MB).
        connection.exec_driver_sql('SET SESSION group_concat_max_len = 16777216')
    leases = connection.execute(query).all()
    reservations, errors = [], {}
    ids = [lease[0].partition(SEP)[0] for lease in leases]
    for first in range(0, len(ids), _IN_BATCH):
        params = {'lease_ids': ids[first:first + _IN_BATCH]}
        reservations.extend(connection.execute(_PACKED_RESERVATIONS, params))
        errors.update(connection.execute(_EVENT_ERRORS, params).all())
    return leases, reservations, errors


# What :func:`plain` gives of a lease and of each of its reservations (and
# :func:`as_plain` and :func:`events_and_leases` alike).
_PLAIN_LEASE_KEYS = ('id', 'name', 'project_id', 'user_id', 'trust_id', 'start_date',
                     'end_date', 'status')
_PLAIN_RESERVATION_KEYS = ('id', 'lease_id', 'resource_type', 'resource_id', 'status')
_PLAIN_LEASE = sa.select(*[getattr(_L, key) for key in _PLAIN_LEASE_KEYS]).where(
    _L.id == sa.bindparam('lease_id'))
_PLAIN_RESERVATIONS = sa.select(
    *[getattr(_R, key) for key in _PLAIN_RESERVATION_KEYS]).where(
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


def as_plain(lease, reservations, events):
    """What :func:`plain` would read, from the ORM rows of a lease that the open
    transaction has just written and flushed (no query)."""
    plain = {key: getattr(lease, key) for key in _PLAIN_LEASE_KEYS}
    plain['reservations'] = [{key: getattr(reservation, key)
                              for key in _PLAIN_RESERVATION_KEYS}
                             for reservation in reservations]
    plain['events'] = {event.event_type: event.status for event in events}
    return plain


@functools.cache
def _insert(table):
    # Built once per table: a statement's cache key is worked out again for every
    # new one.
    return table.insert()


def insert_new(context, rows):
    """Insert ``rows``, transient ORM objects of one model with every column set,
    in one Core statement (no unit of work: a create's rows are only ever new).
    Returns the values each row was inserted with, for :func:`write_changes`."""
    table = type(rows[0]).__table__
    inserted = [{column.key: getattr(row, column.key) for column in table.columns}
                for row in rows]
    context.session.execute(_insert(table), inserted)
    return inserted


def write_changes(context, row, inserted):
    """Write what was set on ``row`` (inserted by :func:`insert_new` with
    ``inserted``) since its insert, stamping ``updated_at`` as the ORM would."""
    table = type(row).__table__
    changed = {}
    for column in table.columns:
        value = getattr(row, column.key)
        if value != inserted[column.key]:
            changed[column.key] = value
    if not changed:
        return
    if 'updated_at' not in changed:
        changed['updated_at'] = row.updated_at = timeutils.utcnow()
    context.session.execute(
        sa.update(table).where(table.c.id == row.id).values(changed))
    inserted.update(changed)


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
_STAMP = sa.select(_L.status_reason, _L.updated_at).where(
    _L.id == sa.bindparam('lease_id'))
# The lease row as it was before a change that is being turned down: its status, its
# reason and its updated_at put back, not stamped with the time of the refusal.
_SET_STATUS_AS_BEFORE = (sa.update(_L)
                         .where(_L.id == sa.bindparam('lease_id'),
                                _L.status.in_(sa.bindparam('expected', expanding=True)))
                         .values(status=sa.bindparam('b_target'),
                                 status_reason=sa.bindparam('b_reason'),
                                 updated_at=sa.bindparam('b_updated_at'))
                         .execution_options(synchronize_session=False))


@db_api.reader
def stamp(context, lease_id):
    """What moving a lease's status changes besides the status (``status_reason``,
    ``updated_at``), to give back to :func:`set_status` when a change is undone."""
    row = context.session.execute(_STAMP, {'lease_id': lease_id}).one_or_none()
    if row is None:
        raise exceptions.LeaseNotFound(lease_id=lease_id)
    return dict(row._mapping)


@retry.on_deadlock
@db_api.writer
def set_status(context, lease_id, target, expected, reason=None, as_before=None,
               at=None):
    """Move a lease to ``target`` only if it is still in one of ``expected``.

    One conditional UPDATE: a caller that read the lease as PENDING passes
    ``expected=['PENDING']`` and loses cleanly (InvalidStateTransition) if anybody
    changed it meanwhile. Transitions the state machine does not list are refused.
    Run as its own transaction, a commit that lost to a concurrent write of the row
    (Galera's certification failure, DBDeadlock) is run again
    (:func:`climate.db.retry.on_deadlock`): the loser then sees the winner's status.
    ``as_before`` (a :func:`stamp`) puts the reason and ``updated_at`` back as they
    were: a refused change leaves the lease exactly as it was. ``at``: the
    ``updated_at`` to stamp instead of now (for a caller that shows it).
    """
    for current in expected:
        states.check('lease', lease_id, current, target)
    params = {'lease_id': lease_id, 'expected': list(expected), 'b_target': target,
              'b_reason': reason}
    if as_before is None and at is None:
        result = context.session.execute(_SET_STATUS, params)
    elif as_before is None:
        params['b_updated_at'] = at
        result = context.session.execute(_SET_STATUS_AS_BEFORE, params)
    else:
        params.update(b_reason=as_before['status_reason'],
                      b_updated_at=as_before['updated_at'])
        result = context.session.execute(_SET_STATUS_AS_BEFORE, params)
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
        'sources': _reservation_sources(target)})


def _reservation_sources(target):
    """Where a reservation may be moved to ``target`` from (itself included: moving
    it again is no change)."""
    return states.sources('reservation', target) + [target]


# Several starts at once (the event engine's batches) -----------------------------
# Core tables, not the ORM classes: an ORM-enabled statement costs about twice the
# CPU of the same statement on the table, and these run for every lease that starts.
_TL, _TR, _TE = _L.__table__, _R.__table__, _E.__table__
_BATCH_EVENTS = sa.select(_TE.c.id, _TE.c.event_type, _TE.c.lease_id).where(
    _TE.c.id.in_(sa.bindparam('event_ids', expanding=True)))
_BATCH_LEASES = sa.select(*[_TL.c[key] for key in _PLAIN_LEASE_KEYS]).where(
    _TL.c.id.in_(sa.bindparam('lease_ids', expanding=True)))
_BATCH_RESERVATIONS = sa.select(*[_TR.c[key] for key in _PLAIN_RESERVATION_KEYS]).where(
    _TR.c.lease_id.in_(sa.bindparam('lease_ids', expanding=True))).order_by(
    _TR.c.created_at, _TR.c.id)
_BATCH_EVENT_STATUSES = sa.select(_TE.c.lease_id, _TE.c.event_type, _TE.c.status).where(
    _TE.c.lease_id.in_(sa.bindparam('lease_ids', expanding=True)))
_BATCH_SET_STATUS = (sa.update(_TL)
                     .where(_TL.c.id.in_(sa.bindparam('lease_ids', expanding=True)),
                            _TL.c.status == sa.bindparam('expected'))
                     .values(status=sa.bindparam('b_target'), status_reason=None))
_BATCH_SET_RESERVATION_STATUS = (
    sa.update(_TR)
    .where(_TR.c.id.in_(sa.bindparam('reservation_ids', expanding=True)),
           _TR.c.status.in_(sa.bindparam('sources', expanding=True)))
    .values(status=sa.bindparam('b_target')))


@db_api.reader
def events_and_leases(context, event_ids):
    """``{event_id: (event_type, plain lease)}`` for several events, in four queries
    whatever their number (:func:`plain` for each lease, read together)."""
    events = context.session.execute(_BATCH_EVENTS, {'event_ids': list(event_ids)}).all()
    params = {'lease_ids': sorted({row.lease_id for row in events})}
    if not params['lease_ids']:
        return {}
    leases = {row.id: dict(row._mapping, reservations=[], events={})
              for row in context.session.execute(_BATCH_LEASES, params)}
    for row in context.session.execute(_BATCH_RESERVATIONS, params):
        leases[row.lease_id]['reservations'].append(dict(row._mapping))
    for row in context.session.execute(_BATCH_EVENT_STATUSES, params):
        leases[row.lease_id]['events'][row.event_type] = row.status
    return {row.id: (row.event_type, leases[row.lease_id]) for row in events
            if row.lease_id in leases}


@db_api.writer
def set_statuses(context, lease_ids, target, expected):
    """Move several leases from ``expected`` to ``target`` in one conditional UPDATE;
    returns how many moved (fewer than asked: somebody changed one meanwhile)."""
    states.check('lease', None, expected, target)
    if not lease_ids:
        return 0
    return context.session.execute(_BATCH_SET_STATUS, {
        'lease_ids': list(lease_ids), 'expected': expected, 'b_target': target}).rowcount


@db_api.writer
def set_reservation_statuses(context, reservation_ids, target):
    """:func:`set_reservation_status` for several reservations, in one UPDATE."""
    if reservation_ids:
        context.session.execute(_BATCH_SET_RESERVATION_STATUS, {
            'reservation_ids': list(reservation_ids), 'b_target': target,
            'sources': _reservation_sources(target)})


_STUCK = sa.select(_L.id).where(
    _L.status == sa.bindparam('b_status'),
    sa.func.coalesce(_L.updated_at, _L.created_at) < sa.bindparam(
        'b_older_than', type_=_L.created_at.type))


@db_api.reader
def stuck(context, status, older_than):
    """The ids of the leases left in a transitional ``status`` since before
    ``older_than``."""
    return list(context.session.execute(
        _STUCK, {'b_status': status, 'b_older_than': older_than}).scalars())
