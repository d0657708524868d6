"""A listing page's JSON text built straight from its database rows.

``climate.db.leases.list_page_rows`` reads a page as plain tuples; this module writes
the text :mod:`climate.manager.views` and ``json.dumps`` would make of the same leases
(the same keys in the same order, the same escaping), without building a dict per
lease, reservation and event first: at 1,000 leases that was ~10,000 dicts and
~45,000 values encoded one by one, as much CPU as reading the rows.
"""

import collections
import json
from json import encoder

from climate.db import leases as lease_db

SEP = lease_db.SEP
EVENT_SEP = lease_db.EVENT_SEP
_quote = encoder.encode_basestring_ascii
# json.dumps' output (``json.dumps(value, check_circular=False)``), one encoder for
# every call: json.dumps with any option makes a new encoder per call.
_dumps = json.JSONEncoder(check_circular=False).encode

#: What plugins' ``details`` read of a reservation (they are given these, not rows).
Reservation = collections.namedtuple(
    'Reservation', 'id lease_id resource_type resource_id status')

#: A reservation's own fields, in the views' order.
_RESERVATION_FIELDS = ('id', 'lease_id', 'resource_id', 'resource_type', 'status',
                       'missing_resources', 'resources_changed', 'created_at',
                       'updated_at')
_RESERVATION_KEYS = frozenset(_RESERVATION_FIELDS)


def _text(value):
    return 'null' if value is None else _quote(value)


def _true(value):
    """A boolean column read as text (``1``, or ``true`` on PostgreSQL)."""
    return value in ('1', 'true')


def _flag(value):
    return 'true' if _true(value) else 'false'


class _Dates:
    """Each distinct date text of a page formatted once (a lease's reservations and
    events share its creation time, many leases their dates)."""

    def __init__(self):
        self._api = {'': 'null'}
        self._stamps = {'': 'null'}

    def api(self, value):
        """``"YYYY-MM-DDTHH:MM:SS.ffffff"`` (Blazar's), quoted."""
        found = self._api.get(value)
        if found is None:
            found = self._api[value] = (
                f'"{value[:10]}T{value[11:19]}.{value[20:26].ljust(6, "0")}"')
        return found

    def stamp(self, value):
        """``"YYYY-MM-DD HH:MM:SS"`` of ``created_at``/``updated_at``, quoted."""
        found = self._stamps.get(value)
        if found is None:
            found = self._stamps[value] = f'"{value[:10]} {value[11:19]}"'
        return found


def _details(context, reservations, plugins):
    """``{reservation_id: extra fields}`` from each plugin, asked once per page."""
    by_type = {}
    for packed, resource_id in reservations:
        (reservation_id, lease_id, resource_type, status,
         _rest) = packed.split(SEP, 4)
        by_type.setdefault(resource_type, []).append(Reservation(
            reservation_id, lease_id, resource_type, resource_id, status))
    details = {}
    for resource_type, typed in by_type.items():
        plugin = plugins.get(resource_type)
        if plugin is not None:
            details.update(plugin.details(context, typed))
    return details


def _reservation_with(base, extra):
    """A reservation whose plugin fields replace some of its own: as ``dict.update``
    does in the views, each key where it first appeared."""
    view = dict(zip(_RESERVATION_FIELDS, base))
    view.update(extra)
    return _dumps(view)


def build_pieces(context, rows, plugins):
    """``(pieces, count, last lease id or None)`` of the rows of
    ``climate.db.leases.list_page_rows``: the pieces (one per lease, with the
    brackets and commas between them) joined are the JSON text of the list of
    leases; a caller compressing the page need never hold it whole."""
    leases, reservations, errors = rows
    details = _details(context, reservations, plugins) if reservations else {}
    dates = _Dates()
    api, stamp = dates.api, dates.stamp

    by_lease = {}
    for packed, resource_id in reservations:
        (reservation_id, lease_id, resource_type, status, missing, changed, created,
         updated) = packed.split(SEP)
        extra = details.get(reservation_id)
        if extra and not _RESERVATION_KEYS.isdisjoint(extra):
            text = _reservation_with(
                (reservation_id, lease_id, resource_id, resource_type, status,
                 _true(missing), _true(changed),
                 json.loads(stamp(created)), json.loads(stamp(updated))), extra)
        else:
            text = (f'{{"id": {_quote(reservation_id)}, "lease_id": {_quote(lease_id)}, '
                    f'"resource_id": {_text(resource_id)}, '
                    f'"resource_type": {_quote(resource_type)}, '
                    f'"status": {_quote(status)}, '
                    f'"missing_resources": {_flag(missing)}, '
                    f'"resources_changed": {_flag(changed)}, '
                    f'"created_at": {stamp(created)}, "updated_at": {stamp(updated)}')
            if extra:
                text += ', ' + _dumps(extra)[1:]
            else:
                text += '}'
        by_lease.setdefault(lease_id, []).append(text)
    reservations_of = {lease_id: ', '.join(texts) for lease_id, texts in by_lease.items()}

    texts = []
    lease_id = None
    between = '['
    for packed, name, project_id, user_id, trust_id, status_reason, events in leases:
        (lease_id, start, end, status, degraded, created,
         updated) = packed.split(SEP)
        quoted_id = _quote(lease_id)
        event_texts = []
        for event in sorted(events.split(EVENT_SEP)) if events else ():
            (time, event_id, event_type, event_status, event_created,
             event_updated) = event.split(SEP)
            event_texts.append(
                f'{{"id": {_quote(event_id)}, "lease_id": {quoted_id}, '
                f'"event_type": {_quote(event_type)}, "time": {api(time)}, '
                f'"status": {_quote(event_status)}, '
                f'"error": {_text(errors.get(event_id))}, '
                f'"created_at": {stamp(event_created)}, '
                f'"updated_at": {stamp(event_updated)}}}')
        texts.append(
            f'{between}{{"id": {quoted_id}, "name": {_quote(name)}, '
            f'"project_id": {_quote(project_id)}, "user_id": {_text(user_id)}, '
            f'"trust_id": {_text(trust_id)}, "start_date": {api(start)}, '
            f'"end_date": {api(end)}, "status": {_quote(status)}, '
            f'"status_reason": {_text(status_reason)}, "degraded": {_flag(degraded)}, '
            f'"reservations": [{reservations_of.get(lease_id, "")}], '
            f'"events": [{", ".join(event_texts)}], '
            f'"created_at": {stamp(created)}, "updated_at": {stamp(updated)}}}')
        between = ', '
    count = len(texts)
    texts.append(']' if count else '[]')
    return texts, count, lease_id
