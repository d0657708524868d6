"""Date and duration parsing for lease commands.

The API takes dates as ``YYYY-MM-DD HH:MM`` in UTC, the word ``now``, or RFC 3339 with
an offset; the client also accepts RFC 3339 / ISO 8601 timestamps and converts them to
UTC, keeping their seconds (a lease may start a few seconds from now).
Durations are a number and a unit: ``30s``, ``30m``, ``2h``, ``1d``.
"""

import datetime
import re

from climate.client.exceptions import ClimateClientError

API_FORMAT = '%Y-%m-%d %H:%M'
RFC3339_FORMAT = '%Y-%m-%dT%H:%M:%SZ'
_DURATION = re.compile(r'^\s*(\d+)\s*([smhd])\s*$')
_UNITS = {'s': 'seconds', 'm': 'minutes', 'h': 'hours', 'd': 'days'}


def to_api_date(value):
    """``now``, ``YYYY-MM-DD HH:MM`` or RFC 3339 → ``YYYY-MM-DD HH:MM`` in UTC, or
    ``YYYY-MM-DDTHH:MM:SSZ`` when the date has seconds (never silently truncated)."""
    text = value.strip()
    if text.lower() == 'now':
        return 'now'
    try:
        moment = datetime.datetime.strptime(text, API_FORMAT)
    except ValueError:
        try:
            moment = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
        except ValueError:
            raise ClimateClientError(
                f"Invalid date '{value}': use 'now', 'YYYY-MM-DD HH:MM' (UTC) or "
                "RFC 3339 such as 2030-01-01T10:00:00Z") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return _format(moment)


def _format(moment):
    """A naive UTC datetime in Blazar's format, or RFC 3339 when it has seconds."""
    if moment.second or moment.microsecond:
        return moment.strftime(RFC3339_FORMAT)
    return moment.strftime(API_FORMAT)


def parse_api_date(value):
    """A date the API returned (``…T…``, fraction optional) → naive UTC datetime."""
    return datetime.datetime.fromisoformat(value.replace(' ', 'T').replace('Z', ''))


def parse_duration(value):
    """``30m``, ``2h``, ``1d`` … → a ``timedelta``."""
    match = _DURATION.match(value or '')
    if not match:
        raise ClimateClientError(
            f"Invalid duration '{value}': use a number and a unit s, m, h or d, e.g. 2h")
    return datetime.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def shift(api_value, delta):
    """A date the API returned, moved by ``delta``, in the API's input format."""
    return _format(parse_api_date(api_value) + delta)
