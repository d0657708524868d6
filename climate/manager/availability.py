"""Availability questions: when a request would be accepted, and what is busy when.

:func:`parse_search` reads a search (resource type, the reservation fields its plugin
validates, ``duration`` in minutes, ``start_after``/``end_before``, ``limit``);
:class:`Availability` answers it through the plugin's ``find_windows`` and lists busy
intervals through its ``busy``. Whether the caller sees host names and other projects'
lease ids is the API's policy decision, passed in as flags; this module only leaves
out what the caller may not see.

The search is also what the earliest-fit create runs (``climate.manager.earliest``),
inside the transaction that then claims the hosts.
"""

import dataclasses
import datetime
from typing import Any
from typing import Optional

from climate import exceptions
from climate.common import numbers
from climate.common import timeutils
from climate.db import api as db_api
from climate.manager import lease_request

#: Without ``end_before``, a search looks this far after its start.
DEFAULT_RANGE = datetime.timedelta(days=31)
#: The longest range a search or a busy listing may cover.
MAX_RANGE = datetime.timedelta(days=366)
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
DEFAULT_RESOURCE_TYPE = 'physical:host'
#: The fields of a search that are not the reservation's own.
SEARCH_FIELDS = ('resource_type', 'duration', 'start_after', 'end_before', 'limit')


@dataclasses.dataclass(frozen=True)
class Search:
    resource_type: str
    values: Any          # what the plugin's validate returned
    duration: datetime.timedelta
    start_after: datetime.datetime
    end_before: datetime.datetime
    limit: int


def parse_duration(value):
    """``duration`` in minutes (an integer, or a string holding one)."""
    if value is None:
        raise exceptions.MissingParameter(param='duration')
    minutes = numbers.parse_integer('duration', value, 1, int(MAX_RANGE.total_seconds() // 60))
    return datetime.timedelta(minutes=minutes)


def parse_range(start_after, end_before, duration=datetime.timedelta(0),
                names=('start_after', 'end_before'), from_now=True):
    """``(start, end)`` of a search: from the current minute by default (and never
    before it with ``from_now``), ``end`` defaulting to :data:`DEFAULT_RANGE` after
    the start (or the duration, if longer)."""
    now = timeutils.utcnow_minute()
    start = now if start_after is None else \
        lease_request.parse_date(names[0], start_after)
    if from_now:
        start = max(start, now)
    if end_before is None:
        end = start + max(DEFAULT_RANGE, duration)
    else:
        end = lease_request.parse_date(names[1], end_before)
    if end <= start:
        raise exceptions.InvalidInput(
            f'{names[1]} must be later than {names[0]}'
            + (' and the current time' if from_now else ''))
    if end - start > MAX_RANGE:
        raise exceptions.InvalidInput(
            f'The search range is too long: at most {MAX_RANGE.days} days')
    return start, end


def parse_search(context, query, plugin_for) -> Search:
    """A :class:`Search` from ``query`` (the REST API's query or body).

    :raises ClimateException: 4xx naming what is wrong.
    """
    if not isinstance(query, dict):
        raise exceptions.InvalidInput(reason='the search must be an object')
    resource_type = query.get('resource_type') or DEFAULT_RESOURCE_TYPE
    plugin = plugin_for(resource_type)
    if not plugin.searches_availability:
        raise exceptions.InvalidInput(
            f'{resource_type} reservations have no availability search')
    duration = parse_duration(query.get('duration'))
    start, end = parse_range(query.get('start_after'), query.get('end_before'),
                             duration)
    limit = DEFAULT_LIMIT if query.get('limit') is None else \
        numbers.parse_integer('limit', query['limit'], 1, MAX_LIMIT)
    fields = {k: v for k, v in query.items() if k not in SEARCH_FIELDS}
    fields.setdefault('min', 1)
    fields.setdefault('max', fields['min'])
    fields['resource_type'] = resource_type
    values = plugin.validate(context, fields)
    return Search(resource_type, values, duration, start, end, limit)


def window_view(window, hostnames=None):
    """A window as the API shows it; ``hostnames`` (id -> name) adds its hosts."""
    view = {'start_date': timeutils.format_date(window.start),
            'end_date': timeutils.format_date(window.end),
            'free': window.free}
    if hostnames is not None:
        view['hosts'] = [{'id': str(h), 'hypervisor_hostname': hostnames.get(h)}
                         for h in window.hosts]
    return view


class Availability:
    """The manager's availability requests (``plugin_for`` as the lease service's)."""

    def __init__(self, plugin_for):
        self._plugin_for = plugin_for

    def find(self, context, query, show_hosts=False):
        search = parse_search(context, query, self._plugin_for)
        plugin = self._plugin_for(search.resource_type)
        with db_api.reader.using(context):
            windows = plugin.find_windows(context, search.values, search.duration,
                                          search.start_after, search.end_before,
                                          search.limit)
            names = None
            if show_hosts:
                hosts, _busy = plugin.busy(
                    context, search.values, search.start_after, search.start_after,
                    host_ids={h for w in windows for h in w.hosts})
                names = {h.host_id: h.hostname for h in hosts}
        return {'resource_type': search.resource_type,
                'duration': int(search.duration.total_seconds() // 60),
                'start_after': timeutils.format_date(search.start_after),
                'end_before': timeutils.format_date(search.end_before),
                'windows': [window_view(w, names) for w in windows]}

    def busy(self, context, query, see_all=False):
        """The busy intervals of the hosts matching ``query``'s properties (and its
        ``host_id``s) over ``[start, end)``. ``see_all``: hostnames and every
        lease id; otherwise only the caller's project's lease ids, others' blocks
        anonymous, and hosts by id."""
        if not isinstance(query, dict):
            raise exceptions.InvalidInput(reason='the query must be an object')
        resource_type = query.get('resource_type') or DEFAULT_RESOURCE_TYPE
        plugin = self._plugin_for(resource_type)
        if not plugin.searches_availability:
            raise exceptions.InvalidInput(
                f'{resource_type} reservations have no availability search')
        start, end = parse_range(query.get('start'), query.get('end'),
                                 names=('start', 'end'), from_now=False)
        host_ids = _host_ids(query.get('host_id'))
        fields = {k: v for k, v in query.items()
                  if k in ('hypervisor_properties', 'resource_properties')}
        values = plugin.validate(context, dict(fields, min=1, max=1,
                                               resource_type=resource_type))
        with db_api.reader.using(context):
            hosts, busy = plugin.busy(context, values, start, end, host_ids=host_ids)
        rows = {h.host_id: {'id': str(h.host_id), 'busy': []} for h in hosts}
        if see_all:
            for h in hosts:
                rows[h.host_id]['hypervisor_hostname'] = h.hostname
        for item in busy:
            rows[item.host_id]['busy'].append(_busy_view(context, item, see_all))
        return {'resource_type': resource_type,
                'start': timeutils.format_date(start), 'end': timeutils.format_date(end),
                'hosts': list(rows.values())}


def _busy_view(context, item, see_all):
    """One busy interval: a lease's allocation, or a maintenance window of the host
    (no lease; its reason only for ``see_all``, an operator's note)."""
    view = {'start_date': timeutils.format_date(item.start),
            'end_date': timeutils.format_date(item.end)}
    if item.kind == 'maintenance':
        view.update(lease_id=None, own=False, kind='maintenance')
        if see_all:
            view['reason'] = item.reason
        return view
    own = see_all or item.project_id == context.project_id
    view.update(lease_id=item.lease_id if own else None,
                own=item.project_id == context.project_id, kind='lease')
    return view


def _host_ids(value) -> Optional[set]:
    if value in (None, '', []):
        return None
    items = value if isinstance(value, list) else str(value).split(',')
    try:
        return {int(str(item).strip()) for item in items}
    except ValueError:
        raise exceptions.MalformedParameter(
            f'Malformed parameter host_id: {value!r} (host ids are integers)') from None
