"""The earliest-fit lease create: "the earliest window of this length between T1 and
T2", found and claimed in one transaction.

A create body carries ``earliest: {"duration": <minutes>, "start_after": <date>,
"end_before": <date>}`` instead of ``start_date``/``end_date`` (see
``doc/source/reference/api.rst``). :func:`parse` reads it; :func:`place`, called by
the lease service at the top of the create transaction, runs the plugin's availability
search (``find_windows``, limit 1) and gives the request the window found; the
plugin's ``reserve`` then reads the hosts' generations and claims them in the same
transaction. When a concurrent create takes the hosts first, the claim fails
(``ClaimConflict``) and the lease service's retry runs the whole transaction again:
the search, on fresh data, finds the next window. Two such creates therefore never get
the same hosts, and neither fails while a later window exists (within ``[manager]
claim_retries`` lost races).

Only a lease with exactly one reservation of a resource type whose plugin searches
availability may ask for the earliest window.
"""

import dataclasses
import datetime

from climate import exceptions
from climate.common import timeutils
from climate.manager import availability


@dataclasses.dataclass(frozen=True)
class Earliest:
    duration: datetime.timedelta
    start_after: datetime.datetime
    end_before: datetime.datetime
    #: Minutes before the end for the before-end event (0: none).
    minutes_before_end: int


def parse(values, minutes_before_end) -> Earliest:
    """The ``earliest`` object of a create body (``values`` is the whole body)."""
    spec = values['earliest']
    if not isinstance(spec, dict):
        raise exceptions.MalformedParameter(
            'Malformed parameter earliest: it must be an object with duration, '
            'start_after and end_before')
    for key in ('start_date', 'end_date', 'before_end_date'):
        if values.get(key) is not None:
            raise exceptions.InvalidInput(
                f'earliest chooses the dates: {key} cannot be given with it')
    duration = availability.parse_duration(spec.get('duration'))
    start, end = availability.parse_range(
        spec.get('start_after'), spec.get('end_before'), duration,
        names=('earliest.start_after', 'earliest.end_before'))
    if end - start < duration:
        raise exceptions.InvalidInput(
            'The earliest range is shorter than its duration')
    return Earliest(duration, start, end, minutes_before_end)


def check_reservations(reservations, plugin_for):
    if len(reservations) != 1 or \
            not plugin_for(reservations[0].resource_type).searches_availability:
        raise exceptions.InvalidInput(
            'earliest takes a lease with exactly one reservation of a resource type '
            'with an availability search (physical:host)')


def place(context, request, plugin_for):
    """``request`` (a ``LeaseRequest`` with ``earliest``) with the earliest window
    its reservation fits in now. Call inside the create transaction.

    :raises NotEnoughHostsAvailable: (409) no window in the range.
    """
    spec = request.earliest
    wanted = request.reservations[0]
    start_after = max(spec.start_after, timeutils.utcnow_minute())
    found = plugin_for(wanted.resource_type).find_windows(
        context, wanted.values, spec.duration, start_after, spec.end_before, 1)
    if not found:
        raise exceptions.NotEnoughHostsAvailable(
            f'Not enough hosts available: no window of {_minutes(spec.duration)} '
            f'minutes between {timeutils.format_date(start_after)} and '
            f'{timeutils.format_date(spec.end_before)}')
    start = found[0].start
    end = start + spec.duration
    before_end = None
    if spec.minutes_before_end > 0:
        before_end = max(end - datetime.timedelta(minutes=spec.minutes_before_end),
                         start)
    return dataclasses.replace(request, start=start, end=end, before_end=before_end)


def _minutes(delta):
    return int(delta.total_seconds() // 60)
