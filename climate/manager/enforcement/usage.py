"""A project's usage over a window, computed from what its plugins report.

Each live reservation of the project contributes ``{resource: amount}`` (its plugin's
``usages``) during its lease's window. Two measures follow:

* the *peak* of a resource inside ``[start, end)``: the most the project holds at
  any instant of the window (``hosts``, ``vcpus``, ``memory_mb``...);
* the *hours* of a resource in each calendar period (``[enforcement] usage_period``,
  UTC) that the window touches: the sum of amount × hours of overlap
  (``host_hours``, ``vcpu_hours``...).
"""

import collections
import dataclasses
import datetime
from typing import Dict

HOUR = datetime.timedelta(hours=1)
HOURS_SUFFIX = '_hours'


@dataclasses.dataclass(frozen=True)
class Holding:
    """What one reservation holds, and when."""

    lease_id: str
    start: datetime.datetime
    end: datetime.datetime
    amounts: Dict[str, int]


def holdings(context, plugins, project_id, start, end):
    """The project's :class:`Holding` overlapping ``[start, end)`` (in a transaction),
    as each plugin reports them."""
    return [Holding(*item) for plugin in plugins.values()
            for item in plugin.usages(context, project_id, start, end)]


def peak(items, start, end):
    """``{resource: most held at one instant of [start, end)}``."""
    changes = collections.defaultdict(lambda: collections.defaultdict(int))
    for item in items:
        begin, finish = max(item.start, start), min(item.end, end)
        if begin >= finish:
            continue
        for resource, amount in item.amounts.items():
            changes[resource][begin] += amount
            changes[resource][finish] -= amount
    result = {}
    for resource, steps in changes.items():
        level = top = 0
        # At one instant, ends (negative) count before starts: [start, end) windows.
        for _when, delta in sorted(steps.items()):
            level += delta
            top = max(top, level)
        result[resource] = top
    return result


def period_bounds(when, kind):
    """The calendar ``day``/``week`` (from Monday)/``month`` holding ``when`` (UTC)."""
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == 'day':
        return day, day + datetime.timedelta(days=1)
    if kind == 'week':
        first = day - datetime.timedelta(days=day.weekday())
        return first, first + datetime.timedelta(days=7)
    first = day.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return first, following


def periods(start, end, kind):
    """The periods ``[start, end)`` touches, in order."""
    found = []
    begin, finish = period_bounds(start, kind)
    while begin < end:
        found.append((begin, finish))
        begin, finish = period_bounds(finish, kind)
    return found


def hours_used(context, plugins, project_id, period, exclude_lease_id=None):
    """``{resource_hours: total}`` the project holds inside ``period``, summed by
    each plugin in SQL, without the lease ``exclude_lease_id``."""
    totals = collections.defaultdict(float)
    for plugin in plugins.values():
        for name, amount in plugin.hours_used(context, project_id, period[0], period[1],
                                              exclude_lease_id).items():
            totals[name] += amount
    return dict(totals)


def hours(items, period):
    """``{resource_hours: amount × hours}`` of ``items`` inside ``period``."""
    begin, finish = period
    totals = collections.defaultdict(float)
    for item in items:
        overlap = (min(item.end, finish) - max(item.start, begin)) / HOUR
        if overlap <= 0:
            continue
        for resource, amount in item.amounts.items():
            totals[hours_name(resource)] += amount * overlap
    return dict(totals)


def hours_name(resource):
    """``hosts`` → ``host_hours``, ``vcpus`` → ``vcpu_hours``, ``memory_mb`` →
    ``memory_mb_hours``."""
    stem = resource[:-1] if resource.endswith('s') else resource
    return stem + HOURS_SUFFIX
