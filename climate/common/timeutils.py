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
    r'^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})$')


class InvalidDate(ValueError):
    """A date string that is neither Blazar's format, ``now``, nor RFC 3339."""

    def __init__(self, value):
        self.value = value
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
    """Parse an API date: ``now``, ``YYYY-MM-DD HH:MM`` or RFC 3339 with an offset."""
    if not isinstance(value, str):
        raise InvalidDate(value)
    text = value.strip()
    if text == 'now':
        return utcnow_minute()
    try:
        return datetime.datetime.strptime(text, BLAZAR_INPUT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        pass
    if _RFC3339.match(text):
        try:
            parsed = datetime.datetime.fromisoformat(text.upper().replace('Z', '+00:00'))
        except ValueError:
            raise InvalidDate(value) from None
        return parsed.astimezone(UTC)
    raise InvalidDate(value)


def format_date(value):
    """Format a datetime the way Blazar's API does (``2017-12-26T12:00:00.000000``)."""
    if value is None:
        return None
    return ensure_utc(value).strftime(OUTPUT_FORMAT)
