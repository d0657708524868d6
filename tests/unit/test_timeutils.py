"""Dates as users type them, and as Blazar's clients read them back."""

import datetime

import pytest

from climate.common import timeutils

UTC = datetime.timezone.utc


@pytest.mark.parametrize('text, expected', [
    ('2030-01-02 03:04', datetime.datetime(2030, 1, 2, 3, 4, tzinfo=UTC)),
    ('2030-01-02T03:04:05Z', datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ('2030-01-02T05:04:05.250+02:00',
     datetime.datetime(2030, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)),
    ('2030-01-01T22:00:00-05:30', datetime.datetime(2030, 1, 2, 3, 30, tzinfo=UTC)),
])
def test_accepted_formats_become_aware_utc(text, expected):
    parsed = timeutils.parse_date(text)
    assert parsed == expected
    assert parsed.utcoffset() == datetime.timedelta(0)


def test_now_is_current_minute():
    before = timeutils.utcnow().replace(second=0, microsecond=0)
    parsed = timeutils.parse_date('now')
    after = timeutils.utcnow().replace(second=0, microsecond=0)
    assert before <= parsed <= after
    assert parsed.second == 0 and parsed.microsecond == 0


@pytest.mark.parametrize('text', [
    'Bogus-date 13:13', '2030-13-01 00:00', '2030-01-01', '2030-01-01T10:00:00',
    '2030-01-01 10:00:00', '', None, 20300101,
])
def test_rejected_formats_name_the_value_and_format(text):
    with pytest.raises(timeutils.InvalidDate) as err:
        timeutils.parse_date(text)
    assert str(text) in str(err.value)
    assert '%Y-%m-%d %H:%M' in str(err.value)


def test_output_is_blazar_format_in_utc():
    value = datetime.datetime(2030, 1, 2, 5, 4, 5, 7, tzinfo=datetime.timezone(
        datetime.timedelta(hours=2)))
    assert timeutils.format_date(value) == '2030-01-02T03:04:05.000007'
    assert timeutils.format_date(None) is None


@pytest.mark.parametrize('text', [
    '0001-01-01T00:00+01:00',      # before year 1 once in UTC: OverflowError before
    '9999-12-31T23:59-01:00',      # after year 9999 once in UTC
    '1899-12-31 23:59',            # outside 1900-9999
    '٢٠٣٠-01-01 10:00',            # Arabic-Indic digits
    '２０３０-01-01T10:00Z',       # full-width digits
])
def test_dates_outside_1900_9999_or_not_ascii_are_invalid(text):
    with pytest.raises(timeutils.InvalidDate):
        timeutils.parse_date(text)


def test_the_edges_of_the_range_are_valid():
    assert timeutils.parse_date('9999-12-31T23:59+00:00').year == 9999
    assert timeutils.parse_date('1899-12-31T23:00-01:00').year == 1900


def test_a_long_invalid_date_is_quoted_briefly():
    with pytest.raises(timeutils.InvalidDate) as err:
        timeutils.parse_date('2' * 100000)
    assert len(str(err.value)) < 300


def test_shift_holds_at_the_edges_instead_of_overflowing():
    last = datetime.datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    assert timeutils.shift(last, datetime.timedelta(hours=1)).year == 9999
    first = datetime.datetime(1, 1, 1, 0, 1, tzinfo=UTC)
    assert timeutils.shift(first, -datetime.timedelta(hours=1)).year == 1
