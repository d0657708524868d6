"""How leases look to users (Blazar's shape). Plugins get plain dicts from
``climate.db.leases.plain``.

User-facing dates use Blazar's ``YYYY-MM-DDTHH:MM:SS.ffffff`` for ``start_date``,
``end_date`` and event ``time`` (python-blazarclient parses them), and
``YYYY-MM-DD HH:MM:SS`` for ``created_at``/``updated_at`` as Blazar does.
"""

from climate.common import timeutils


class _Dates:
    """Formats the dates of one page, each distinct value once (a lease, its
    reservations and events share their creation times and the lease's dates).

    Values are aware datetimes (ORM rows) or naive UTC as text,
    ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (as ``climate.db.leases.list_leases`` reads them).
    """

    def __init__(self):
        self._api = {}
        self._stamps = {}

    @staticmethod
    def _parts(value):
        """``(YYYY-MM-DD, HH:MM:SS, ffffff)`` of a datetime or of its text."""
        if not isinstance(value, str):
            if value.tzinfo is not None:
                value = value.astimezone(timeutils.UTC).replace(tzinfo=None)
            value = value.isoformat(sep=' ', timespec='microseconds')
        return value[:10], value[11:19], value[20:26].ljust(6, '0')

    def api(self, value):
        """Blazar's ``YYYY-MM-DDTHH:MM:SS.ffffff`` (``timeutils.OUTPUT_FORMAT``)."""
        if value is None:
            return None
        found = self._api.get(value)
        if found is None:
            day, time, fraction = self._parts(value)
            found = self._api[value] = f'{day}T{time}.{fraction}'
        return found

    def stamp(self, value):
        """``YYYY-MM-DD HH:MM:SS`` of ``created_at``/``updated_at``."""
        if value is None:
            return None
        found = self._stamps.get(value)
        if found is None:
            day, time, _ = self._parts(value)
            found = self._stamps[value] = f'{day} {time}'
        return found


def leases(context, rows, plugins):
    """The API view of lease ORM rows (with their ``reservations`` and ``events``),
    each plugin's fields asked for once for all of them."""
    return page(context, (rows, {lease.id: lease.reservations for lease in rows},
                          {lease.id: lease.events for lease in rows}), plugins)


def page(context, listed, plugins):
    """The API view of ``(leases, reservations, events)`` as
    ``climate.db.leases.list_leases`` returns them (reservations and events grouped by
    lease id), each plugin's fields asked for once per page."""
    rows, reservations, events = listed
    by_type = {}
    for lease_reservations in reservations.values():
        for reservation in lease_reservations:
            by_type.setdefault(reservation.resource_type, []).append(reservation)
    details = {}
    for resource_type, typed in by_type.items():
        plugin = plugins.get(resource_type)
        if plugin is not None:
            details.update(plugin.details(context, typed))
    dates = _Dates()
    return [_lease(lease, reservations.get(lease.id, ()), events.get(lease.id, ()),
                   details, dates) for lease in rows]


def created(lease, reservations, events, details):
    """The API view of a lease from the ORM rows its create wrote and flushed, with
    each reservation's plugin fields (``details``, by reservation id): what
    :func:`leases` answers once they are committed."""
    return _lease(lease, reservations, events, details, _Dates())


def _lease(row, reservations, events, details, dates):
    stamp = dates.stamp
    return {'id': row.id, 'name': row.name, 'project_id': row.project_id,
            'user_id': row.user_id, 'trust_id': row.trust_id,
            'start_date': dates.api(row.start_date),
            'end_date': dates.api(row.end_date),
            'status': row.status, 'status_reason': row.status_reason,
            'degraded': bool(row.degraded),
            'reservations': [_reservation(r, details.get(r.id), stamp)
                             for r in reservations],
            'events': [{'id': e.id, 'lease_id': e.lease_id, 'event_type': e.event_type,
                        'time': dates.api(e.time), 'status': e.status, 'error': e.error,
                        'created_at': stamp(e.created_at),
                        'updated_at': stamp(e.updated_at)} for e in events],
            'created_at': stamp(row.created_at), 'updated_at': stamp(row.updated_at)}


def _reservation(row, extra, stamp):
    view = {'id': row.id, 'lease_id': row.lease_id, 'resource_id': row.resource_id,
            'resource_type': row.resource_type, 'status': row.status,
            'missing_resources': bool(row.missing_resources),
            'resources_changed': bool(row.resources_changed),
            'created_at': stamp(row.created_at), 'updated_at': stamp(row.updated_at)}
    if extra:
        view.update(extra)
    return view
