"""Dates, durations and key=value parsing of the client and CLI."""

import datetime

import pytest

from climate.cli import params
from climate.client import dates
from climate.client.exceptions import ClimateClientError


@pytest.mark.parametrize('given, sent', [
    ('now', 'now'), ('NOW', 'now'),
    ('2030-01-01 10:00', '2030-01-01 10:00'),
    ('2030-01-01T10:00:00Z', '2030-01-01 10:00'),
    ('2030-01-01T12:30:00+02:00', '2030-01-01 10:30'),
    ('2030-01-01T10:00', '2030-01-01 10:00'),
    # Seconds are kept (a lease starting in 20 s must not start at the minute).
    ('2030-01-01T10:00:25Z', '2030-01-01T10:00:25Z'),
    ('2030-01-01T12:30:25+02:00', '2030-01-01T10:30:25Z'),
    ('2030-01-01T10:00:25.5Z', '2030-01-01T10:00:25Z'),
])
def test_dates_sent_to_the_api(given, sent):
    assert dates.to_api_date(given) == sent


def test_bad_date():
    with pytest.raises(ClimateClientError, match="Invalid date 'soon'"):
        dates.to_api_date('soon')


@pytest.mark.parametrize('given, delta', [
    ('30s', datetime.timedelta(seconds=30)), ('30m', datetime.timedelta(minutes=30)),
    ('2h', datetime.timedelta(hours=2)), ('1d', datetime.timedelta(days=1))])
def test_durations(given, delta):
    assert dates.parse_duration(given) == delta


@pytest.mark.parametrize('given', ['', '1w', 'h', '-1h', '1.5h'])
def test_bad_durations(given):
    with pytest.raises(ClimateClientError, match='Invalid duration'):
        dates.parse_duration(given)


def test_shift_keeps_seconds():
    # --prolong-for 40s of a lease ending at 10:00:37 ends it at 10:01:17, not 10:01.
    assert dates.shift('2030-01-02T10:00:37.000000', datetime.timedelta(seconds=40)) == (
        '2030-01-02T10:01:17Z')
    assert dates.shift('2030-01-02T10:00:00.000000', datetime.timedelta(seconds=30)) == (
        '2030-01-02T10:00:30Z')


def test_shift_reads_the_api_output_format():
    assert dates.shift('2030-01-02T10:00:00.000000', datetime.timedelta(days=1)) == (
        '2030-01-03 10:00')


def test_key_values_keep_json_commas_and_make_ints():
    assert params.key_values(
        'min=1,max=2,hypervisor_properties=[">=", "$vcpus", "2"],resource_properties=',
        '--x') == {'min': 1, 'max': 2, 'hypervisor_properties': '[">=", "$vcpus", "2"]',
                   'resource_properties': ''}
    assert params.key_values('resource_type=virtual:instance,resource_id=abc', '--x') == {
        'resource_type': 'virtual:instance', 'resource_id': 'abc'}


@pytest.mark.parametrize('given', ['novalue', 'a=1,a=2', '=1'])
def test_bad_key_values(given):
    with pytest.raises(ClimateClientError, match='Invalid --x'):
        params.key_values(given, '--x')
