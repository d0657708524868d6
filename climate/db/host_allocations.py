"""physical:host's allocation rows: which reservation holds which host, and when.

An allocation is one whole host held by one reservation for ``[start_date,
end_date)``, the lease's window copied so that "is this host free" is one range probe
of an index (:mod:`climate.db.host_search`). The writes run inside the lease's
transaction after :func:`climate.db.claims.claim` succeeded for every host they add
or whose window they widen; whoever removes allocations bumps the hosts' generations
(:func:`climate.db.claims.bump`; :func:`release` does).
The listings are the ones behind ``/v1/os-hosts/allocations``.
"""

import datetime
import uuid

import sqlalchemy as sa

from climate import exceptions
from climate.common import timeutils
from climate.db import api as db_api
from climate.db import claims
from climate.db import host_search
from climate.db import hosts as host_db
from climate.db import models

H = models.ComputeHost.__table__
A = models.ComputeHostAllocation.__table__
R = models.Reservation.__table__
# Built once: a statement's cache key is worked out again for every new one.
_INSERT = sa.insert(A)


# In the lease's transaction -----------------------------------------------------------

def insert(context, reservation_id, host_ids, start, end):
    """Allocate ``host_ids`` (claimed already) to the reservation for ``[start, end)``."""
    if not host_ids:
        return
    now = timeutils.utcnow()
    context.session.execute(_INSERT, [
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


def rows_of(context, reservation_id):
    """The reservation's allocations as plain dicts of every column (for
    :func:`put_back`)."""
    return [dict(row._mapping) for row in context.session.execute(
        sa.select(A).where(A.c.reservation_id == reservation_id))]


def put_back(context, reservation_id, rows, cleaning):
    """Make the reservation's allocations ``rows`` again (what :func:`rows_of`
    returned earlier), ids and all.

    Whatever the rows hold beyond the current allocations (a host given up, a wider
    window) may have been taken meanwhile, so it is claimed: the hosts must be free
    over their old window, read with their generation in one statement.

    :raises ClaimConflict: a concurrent transaction changed one of those hosts (retry).
    :raises NotEnoughHostsAvailable: one of them is allocated to another reservation.
    """
    current = {row['compute_host_id']: row for row in rows_of(context, reservation_id)}
    wanted = {row['compute_host_id']: row for row in rows}
    to_claim = [host for host, row in wanted.items()
                if host not in current or
                row['start_date'] < current[host]['start_date'] or
                row['end_date'] > current[host]['end_date']]
    # Every row shares the lease's window; check each distinct one.
    windows = {}
    for host in to_claim:
        windows.setdefault((wanted[host]['start_date'], wanted[host]['end_date']),
                           []).append(host)
    free = []
    for (start, end), hosts in windows.items():
        free += host_search.free_generations(context, hosts, start, end, cleaning,
                                             exclude_reservation=reservation_id)
    taken = set(to_claim) - {h.host_id for h in free}
    if taken:
        raise exceptions.NotEnoughHostsAvailable(
            f'host(s) {", ".join(str(h) for h in sorted(taken))} given up by '
            f'reservation {reservation_id} were taken meanwhile')
    claims.claim(context, free,
                 max((w[1] - w[0] for w in windows), default=datetime.timedelta(0)))
    remove(context, reservation_id)
    # Hosts given up or shrunk: nobody loses capacity, but searches start over.
    claims.bump(context, set(current) - {h.host_id for h in free})
    if rows:
        context.session.execute(_INSERT, [dict(row) for row in rows])


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
    claims.bump(context, host_ids)
    return host_ids


# Listings ---------------------------------------------------------------------------

@db_api.reader
def by_host(context, now, lease_id=None, reservation_id=None, host_id=None,
            limit=None, marker=None):
    """``[{"resource_id", "reservations": [...]}]``, one entry per host, in ONE query
    (two with ``marker``): the first ``limit`` hosts by id after host ``marker``.

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
    if marker is not None or limit is not None:
        hosts = sa.select(H.c.id).order_by(H.c.id)
        if marker is not None:
            hosts = hosts.where(H.c.id > host_db.page_marker(context, marker))
        if limit is not None:
            hosts = hosts.limit(limit)
        # A derived table: MariaDB refuses LIMIT inside IN (subquery).
        page = hosts.subquery()
        query = query.where(H.c.id.in_(sa.select(page.c.id)))
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
