"""How leases look to users (Blazar's shape). Plugins get plain dicts from
``climate.db.leases.plain``.

User-facing dates use Blazar's ``YYYY-MM-DDTHH:MM:SS.ffffff`` for ``start_date``,
``end_date`` and event ``time`` (python-blazarclient parses them), and
``YYYY-MM-DD HH:MM:SS`` for ``created_at``/``updated_at`` as Blazar does.
"""

from climate.common import timeutils


def _stamp(value):
    return value.strftime('%Y-%m-%d %H:%M:%S') if value else None


def _timestamps(row):
    return {'created_at': _stamp(row.created_at), 'updated_at': _stamp(row.updated_at)}


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
    return [_lease(lease, reservations.get(lease.id, ()), events.get(lease.id, ()),
                   details) for lease in rows]


def _lease(row, reservations, events, details):
    view = {'id': row.id, 'name': row.name, 'project_id': row.project_id,
            'user_id': row.user_id, 'trust_id': row.trust_id,
            'start_date': timeutils.format_date(row.start_date),
            'end_date': timeutils.format_date(row.end_date),
            'status': row.status, 'status_reason': row.status_reason,
            'degraded': row.degraded,
            'reservations': [_reservation(r, details.get(r.id, {}))
                             for r in reservations],
            'events': [_event(e) for e in events]}
    view.update(_timestamps(row))
    return view


def _reservation(row, extra):
    view = {'id': row.id, 'lease_id': row.lease_id, 'resource_id': row.resource_id,
            'resource_type': row.resource_type, 'status': row.status,
            'missing_resources': row.missing_resources,
            'resources_changed': row.resources_changed}
    view.update(_timestamps(row))
    view.update(extra)
    return view


def _event(row):
    view = {'id': row.id, 'lease_id': row.lease_id, 'event_type': row.event_type,
            'time': timeutils.format_date(row.time), 'status': row.status,
            'error': row.error}
    view.update(_timestamps(row))
    return view
