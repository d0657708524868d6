"""Column types: UTC datetimes and JSON-ish text that behave the same on every backend."""

import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from climate.common import timeutils


class UTCDateTime(sa.types.TypeDecorator):
    """A datetime stored as naive UTC and read back as an aware UTC datetime.

    MySQL/MariaDB ``DATETIME`` drops fractions of a second unless asked for them, so
    that dialect gets ``DATETIME(6)``; PostgreSQL and SQLite keep microseconds already.
    Naive values are refused on the way in so that local time never sneaks in.
    """

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == 'mysql':
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime.datetime):
            raise TypeError(f'expected a datetime, got {value!r}')
        if value.tzinfo is None:
            raise ValueError(f'naive datetime {value!r}: Climate stores UTC, '
                             'pass an aware datetime')
        return value.astimezone(timeutils.UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timeutils.UTC)
