"""A lease create or update request, parsed once into what the lease service uses.

The REST API has already checked the body's shape against its JSON schema (types,
required keys, lengths); the lease service is also reached over RPC by other callers, so
:func:`parse_create` and :func:`parse_change` refuse what they cannot build an object
from, with the API's wording. What they own is the meaning of a request:

* dates are parsed here, and only here, then compared to now and to each other;
* ``before_end_date`` lies strictly inside the window (403, as Blazar answers);
* the reservations of an update belong to the lease and keep their resource type;
* a terminated lease may only be renamed, a started one keeps its start;
* a listing is sorted by a column the listing knows (:func:`parse_list_query`).

Each reservation of a new lease is handed to its plugin's ``validate``, which owns its
fields (counts, requirements, server ids...) and returns them normalised.
"""

import dataclasses
import datetime
from typing import Any
from typing import Callable
from typing import Mapping
from typing import Optional
from typing import Tuple

from climate import exceptions
from climate.common import limits
from climate.common import states
from climate.common import timeutils
from climate.db import leases as lease_db

E = states.Event
L = states.Lease

MAX_NAME_LENGTH = 80
#: The keys of an update body the service looks at (others are ignored, as Blazar does).
UPDATABLE_KEYS = ('name', 'start_date', 'end_date', 'before_end_date', 'reservations')


@dataclasses.dataclass(frozen=True)
class ReservationRequest:
    """One reservation of a new lease: its type and what its plugin's ``validate``
    made of the request (the object the plugin's ``reserve`` then receives)."""

    resource_type: str
    values: Any


@dataclasses.dataclass(frozen=True)
class LeaseRequest:
    """A valid lease creation: dates are aware UTC datetimes."""

    name: str
    start: datetime.datetime
    end: datetime.datetime
    #: When the before-end event is due; None when there is none.
    before_end: Optional[datetime.datetime]
    project_id: str
    user_id: Optional[str]
    reservations: Tuple[ReservationRequest, ...]
    #: Set for an earliest-fit create (``climate.manager.earliest``): ``start``/``end``
    #: are then placeholders until the create transaction places the lease.
    earliest: Any = None

    @property
    def resource_types(self):
        return [r.resource_type for r in self.reservations]


@dataclasses.dataclass(frozen=True)
class LeaseChange:
    """A valid update of an existing lease: the resulting window (``start``/``end``
    are the lease's own when unchanged), an explicit ``before_end`` or None, and the
    fields to change per reservation id (given to its plugin's ``update``)."""

    name: Optional[str]
    start: datetime.datetime
    end: datetime.datetime
    before_end: Optional[datetime.datetime]
    reservations: Mapping[str, dict]
    #: The keys the request set (among :data:`UPDATABLE_KEYS`).
    keys: frozenset

    @property
    def is_empty(self):
        return not self.keys

    @property
    def renames_only(self):
        return self.keys == {'name'}


def parse_create(context, values, plugin_for: Callable[[str], Any],
                 minutes_before_end: int) -> LeaseRequest:
    """The :class:`LeaseRequest` of an RPC ``create_lease(values)``.

    ``plugin_for(resource_type)`` returns the plugin of a resource type (or raises
    ``UnsupportedResourceType``); ``minutes_before_end`` places the before-end event
    when the request gives no ``before_end_date`` (0: no such event).

    :raises ClimateException: 4xx naming what is wrong.
    """
    if not isinstance(values, dict):
        raise exceptions.InvalidInput(reason='the lease must be an object')
    name = values.get('name')
    if name is None:
        raise exceptions.MissingParameter(param='name')
    _check_name(name)
    if values.get('earliest') is not None:
        return _earliest_create(context, values, name, plugin_for, minutes_before_end)
    for key in ('start_date', 'end_date'):
        if values.get(key) is None:
            raise exceptions.MissingParameter(param=key)
    start = parse_date('start_date', values['start_date'])
    end = parse_date('end_date', values['end_date'])
    if start < timeutils.utcnow_minute():
        raise exceptions.InvalidInput('Start date must be later than current date')
    if end <= start:
        raise exceptions.InvalidInput('End date must be later than start date.')
    before_end = _before_end_date(values.get('before_end_date'), start, end)
    if before_end is None and minutes_before_end > 0:
        before_end = max(end - datetime.timedelta(minutes=minutes_before_end), start)
    reservations = _new_reservations(context, values.get('reservations'), plugin_for)
    project_id = values.get('project_id') or context.project_id
    if not project_id:
        raise exceptions.MissingParameter(param='project_id')
    return LeaseRequest(name=name, start=start, end=end, before_end=before_end,
                        project_id=project_id,
                        user_id=values.get('user_id') or context.user_id,
                        reservations=reservations)


def _earliest_create(context, values, name, plugin_for, minutes_before_end):
    from climate.manager import earliest  # it builds on this module
    spec = earliest.parse(values, minutes_before_end)
    reservations = _new_reservations(context, values.get('reservations'), plugin_for)
    earliest.check_reservations(reservations, plugin_for)
    project_id = values.get('project_id') or context.project_id
    if not project_id:
        raise exceptions.MissingParameter(param='project_id')
    return LeaseRequest(name=name, start=spec.start_after,
                        end=spec.start_after + spec.duration, before_end=None,
                        project_id=project_id,
                        user_id=values.get('user_id') or context.user_id,
                        reservations=reservations, earliest=spec)


def parse_change(lease: Mapping, values) -> LeaseChange:
    """The :class:`LeaseChange` of an RPC ``update_lease(lease_id, values)``.

    ``lease`` is the lease as stored (``climate.db.leases.plain``: ``id``, ``status``,
    ``start_date``, ``end_date``, ``events`` by type, ``reservations``).

    :raises ClimateException: 4xx naming what is wrong.
    """
    if not isinstance(values, dict):
        raise exceptions.InvalidInput(reason='the lease must be an object')
    values = {k: v for k, v in values.items() if k in UPDATABLE_KEYS}
    keys = frozenset(values)
    if 'name' in values:
        _check_name(values['name'])
    if not values or keys == {'name'}:
        return LeaseChange(name=values.get('name'), start=lease['start_date'],
                           end=lease['end_date'], before_end=None, reservations={},
                           keys=keys)
    now = timeutils.utcnow()
    start = parse_date('start_date', values['start_date']) if 'start_date' in values \
        else lease['start_date']
    end = parse_date('end_date', values['end_date']) if 'end_date' in values \
        else lease['end_date']
    started = lease['events'].get(E.START_LEASE, E.UNDONE) != E.UNDONE
    ended = lease['status'] == L.TERMINATED or lease['end_date'] <= now
    dates_change = start != lease['start_date'] or end != lease['end_date'] or \
        values.get('before_end_date') is not None or bool(values.get('reservations'))
    if ended and dates_change:
        raise exceptions.InvalidInput('Terminated leases can only be renamed')
    if started and start != lease['start_date']:
        raise exceptions.InvalidInput(
            'Cannot modify the start date of already started leases')
    if not started and start != lease['start_date'] and \
            start < timeutils.utcnow_minute():
        raise exceptions.InvalidInput('Start date must be later than current date')
    if end <= start:
        raise exceptions.InvalidInput('End date must be later than start date.')
    if end != lease['end_date'] and end < now:
        raise exceptions.InvalidInput(
            'End date must be later than current and start date')
    before_end = _before_end_date(values.get('before_end_date'), start, end)
    return LeaseChange(name=values.get('name'), start=start, end=end,
                       before_end=before_end,
                       reservations=_reservation_changes(lease, values.get('reservations')),
                       keys=keys)


def parse_list_query(filters: Mapping) -> dict:
    """The keyword arguments of ``climate.db.leases.list_leases`` for an RPC
    ``list_leases(**filters)``: ``sort_key``/``sort_dir`` checked, defaults filled.

    :raises InvalidInput: (400) for a sort the listing does not offer.
    """
    query = dict(filters)
    query.setdefault('sort_key', 'created_at')
    query.setdefault('sort_dir', 'asc')
    if query['sort_key'] not in lease_db.SORT_KEYS:
        raise exceptions.InvalidInput(
            reason=f'sort_key must be one of {", ".join(lease_db.SORT_KEYS)}')
    if query['sort_dir'] not in lease_db.SORT_DIRS:
        raise exceptions.InvalidInput(
            reason=f'sort_dir must be {" or ".join(lease_db.SORT_DIRS)}')
    return query


def parse_date(field: str, value) -> datetime.datetime:
    """``value`` of the request's ``field`` as an aware UTC datetime.

    :raises InvalidDate: (400) whose ``field`` keyword names the field, for callers
        (the REST API) that put it in front of the message.
    """
    try:
        return timeutils.parse_date(value)
    except timeutils.InvalidDate:
        raise exceptions.InvalidDate(date=limits.quote(value, 64), field=field) from None


def _check_name(name):
    if not isinstance(name, str) or not name.strip():
        raise exceptions.MalformedParameter(param='name')
    if len(name) > MAX_NAME_LENGTH:
        raise exceptions.InvalidInput(
            message=f'Invalid value for name: longer than {MAX_NAME_LENGTH} characters')


def _before_end_date(value, start, end):
    """An explicit before-end date, strictly inside ``(start, end)``; None if unset."""
    if value is None:
        return None
    when = parse_date('before_end_date', value)
    if not start < when < end:
        raise exceptions.NotAuthorized('Datetime is out of lease limits')
    return when


def _new_reservations(context, requests, plugin_for):
    requests = requests or []
    if not isinstance(requests, list):
        raise exceptions.MalformedParameter(param='reservations')
    parsed = []
    for index, request in enumerate(requests):
        if not isinstance(request, dict):
            raise exceptions.MalformedParameter(param='reservations')
        resource_type = request.get('resource_type')
        if not resource_type:
            raise exceptions.MissingParameter(param=f'reservations[{index}].resource_type')
        plugin = plugin_for(resource_type)
        parsed.append(ReservationRequest(resource_type,
                                         plugin.validate(context, dict(request))))
    return tuple(parsed)


def _reservation_changes(lease, requests):
    """``{reservation_id: fields to change}``; every id must be one of the lease's."""
    requests = requests or []
    if not isinstance(requests, list):
        raise exceptions.MalformedParameter(param='reservations')
    known = {r['id']: r for r in lease['reservations']}
    changes, unknown = {}, []
    for request in requests:
        if not isinstance(request, dict):
            raise exceptions.MalformedParameter(param='reservations')
        if not request.get('id'):
            raise exceptions.MissingParameter(param='reservation ID')
        if request['id'] not in known:
            unknown.append(str(request['id']))
            continue
        stored_type = known[request['id']]['resource_type']
        if request.get('resource_type', stored_type) != stored_type:
            raise exceptions.CantUpdateParameter(param='resource_type')
        changes[request['id']] = {k: v for k, v in request.items()
                                  if k not in ('id', 'resource_type')}
    if unknown:
        raise exceptions.InvalidInput(
            f'Reservation(s) {limits.quote(", ".join(unknown))} do not belong to lease '
            f'{lease["id"]}')
    return changes
