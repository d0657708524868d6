"""Time in Climate: always timezone-aware UTC.

Input accepts Blazar's ``YYYY-MM-DD HH:MM`` (UTC), the word ``now`` and RFC 3339 with an
offset; output uses Blazar's ``YYYY-MM-DDTHH:MM:SS.ffffff`` (UTC, no offset), which
python-blazarclient parses.
"""

import datetime
import re

UTC = datetime.timezone.utc
BLAZAR_INPUT_FORMAT = '%Y-%m-%d %H:%M'
OUTPUT_FORMAT = '%Y-%m-%dT%H:%M:%S.%f'

_RFC3339 = re.compile(
    r'^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})$',
    re.ASCII)
_BLAZAR = re.compile(r'^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$', re.ASCII)
#: Years a date may fall in (in UTC): far enough for any lease, and every database
#: column and datetime arithmetic (offsets, before-end) stays inside its range.
MIN_YEAR, MAX_YEAR = 1900, 9999
_LONGEST_DATE = 64


class InvalidDate(ValueError):
    """A date string that is neither Blazar's format, ``now``, nor RFC 3339."""

    def __init__(self, value):
        self.value = value
        if isinstance(value, str) and len(value) > _LONGEST_DATE:
            value = value[:_LONGEST_DATE] + '…'
        super().__init__(
            f'{value} is an invalid date. Required format: {BLAZAR_INPUT_FORMAT} '
            f'(UTC), "now", or RFC 3339 with an offset')


def utcnow():
    """The current time as an aware UTC datetime."""
    return datetime.datetime.now(UTC)


def utcnow_minute():
    """``now`` as Blazar means it: the current UTC time truncated to the minute."""
    return utcnow().replace(second=0, microsecond=0)


def ensure_utc(value):
    """Return ``value`` as an aware UTC datetime; naive values are taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_date(value):
    """Parse an API date: ``now``, ``YYYY-MM-DD HH:MM`` or RFC 3339 with an offset,
    in ASCII digits, falling in the years :data:`MIN_YEAR`–:data:`MAX_YEAR` once in
    UTC."""
    if not isinstance(value, str) or len(value) > _LONGEST_DATE:
        raise InvalidDate(value)
    text = value.strip()
    if text == 'now':
        return utcnow_minute()
    if _BLAZAR.match(text):
        try:
            parsed = datetime.datetime.strptime(text, BLAZAR_INPUT_FORMAT)
        except ValueError:
            raise InvalidDate(value) from None
        return _in_range(value, parsed.replace(tzinfo=UTC))
    if _RFC3339.match(text):
        try:
            parsed = datetime.datetime.fromisoformat(text.upper().replace('Z', '+00:00'))
            parsed = parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            raise InvalidDate(value) from None
        return _in_range(value, parsed)
    raise InvalidDate(value)


def _in_range(value, parsed):
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise InvalidDate(value)
    return parsed


def format_date(value):
    """Format a datetime the way Blazar's API does (``2017-12-26T12:00:00.000000``)."""
    if value is None:
        return None
    return ensure_utc(value).strftime(OUTPUT_FORMAT)


def shift(value, delta):
    """``value + delta``, held at the first or last representable instant instead of
    overflowing (a window around a date in year 9999 widened by a cleaning time)."""
    try:
        return value + delta
    except OverflowError:
        edge = datetime.datetime.max if delta > datetime.timedelta(0) \
            else datetime.datetime.min
        return edge.replace(microsecond=0, tzinfo=value.tzinfo)
