"""The arithmetic of quotas over time: peaks inside a window ([start, end) windows),
calendar periods, and hours per period."""

import datetime

from climate.manager.enforcement import usage

UTC = datetime.timezone.utc
H = datetime.timedelta(hours=1)
T0 = datetime.datetime(2030, 1, 31, 20, tzinfo=UTC)


def holding(start, end, **amounts):
    return usage.Holding('lease', start, end, amounts)


def test_back_to_back_leases_do_not_add_up():
    items = [holding(T0, T0 + H, hosts=2), holding(T0 + H, T0 + 2 * H, hosts=2)]
    assert usage.peak(items, T0, T0 + 2 * H) == {'hosts': 2}


def test_overlaps_add_up_only_inside_the_window():
    items = [holding(T0, T0 + 3 * H, hosts=1), holding(T0 + H, T0 + 2 * H, hosts=2),
             holding(T0 + 5 * H, T0 + 6 * H, hosts=7)]
    assert usage.peak(items, T0, T0 + 4 * H) == {'hosts': 3}
    assert usage.peak(items, T0 + 2 * H, T0 + 4 * H) == {'hosts': 1}


def test_calendar_periods():
    assert usage.periods(T0, T0 + 5 * H, 'month') == [
        (datetime.datetime(2030, 1, 1, tzinfo=UTC), datetime.datetime(2030, 2, 1, tzinfo=UTC)),
        (datetime.datetime(2030, 2, 1, tzinfo=UTC), datetime.datetime(2030, 3, 1, tzinfo=UTC))]
    december = datetime.datetime(2030, 12, 31, tzinfo=UTC)
    assert usage.period_bounds(december, 'month')[1] == \
        datetime.datetime(2031, 1, 1, tzinfo=UTC)
    # 2030-01-31 is a Thursday: its week began on Monday the 28th.
    assert usage.period_bounds(T0, 'week') == (
        datetime.datetime(2030, 1, 28, tzinfo=UTC), datetime.datetime(2030, 2, 4, tzinfo=UTC))
    assert len(usage.periods(T0, T0 + 4 * H, 'day')) == 1


def test_hours_count_the_part_inside_each_period():
    items = [holding(T0, T0 + 6 * H, hosts=2, vcpus=4, memory_mb=1024)]
    january, february = usage.periods(T0, T0 + 6 * H, 'day')
    assert usage.hours(items, january) == {'host_hours': 8, 'vcpu_hours': 16,
                                           'memory_mb_hours': 4096}
    assert usage.hours(items, february)['host_hours'] == 4
