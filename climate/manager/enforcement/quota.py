"""QuotaFilter (Climate's): quotas over time.

For each resource with a limit (``climate.manager.enforcement.limits``):

* a plain resource (``hosts``, ``vcpus``, ``memory_mb``...) limits what the project
  holds at any instant of the requested window, this lease included;
* a ``*_hours`` resource (``host_hours``, ``vcpu_hours``...) limits the amount × hours
  the project holds in each calendar period (``[enforcement] usage_period``) the
  window touches.

Checked inside the claim's transaction, after the plugins claimed the capacity and
under the project's lock (``climate.db.project_usage``), so concurrent creates of one
project are counted one after the other and cannot together pass a limit. A lease
that does not hold a resource is never refused for it (a project already over a
limit lowered since may still make leases that do not add to it).
"""

from climate.common import timeutils
from climate.manager.enforcement import base
from climate.manager.enforcement import limits as limits_mod
from climate.manager.enforcement import usage


class QuotaFilter(base.Filter):
    name = 'QuotaFilter'
    in_claim = True

    def __init__(self, conf, plugins):
        super().__init__(conf)
        self.plugins = plugins

    def check_claim(self, context, lease, current=None):
        project_id = lease['project_id']
        if self.exempt(project_id):
            return
        limits = {name: limit for name, limit in
                  limits_mod.driver(self.conf).get(project_id).items()
                  if limit != limits_mod.UNLIMITED}
        if not limits:
            return
        start, end = lease['start_date'], lease['end_date']
        spans = usage.periods(start, end, self.options.usage_period)
        items = usage.holdings(context, self.plugins, project_id, start, end)
        mine = [i for i in items if i.lease_id == lease['id']]
        others = [i for i in items if i.lease_id != lease['id']]
        requested = usage.peak(mine, start, end)
        held = usage.peak(others, start, end)
        totals = usage.peak(items, start, end)
        for name, limit in sorted(limits.items()):
            if name.endswith(usage.HOURS_SUFFIX):
                self._check_hours(context, name, limit, lease, mine, spans)
                continue
            wanted = requested.get(name, 0)
            total = totals.get(name, 0)
            if wanted and total > limit:
                base.refuse(
                    self.name,
                    f'Quota exceeded for {name}: project {project_id} may hold '
                    f'{limit} at any time; this lease asks for {wanted} while the '
                    f'project already holds up to {held.get(name, 0)} between '
                    f'{timeutils.format_date(start)} and {timeutils.format_date(end)}',
                    resource=name, limit=limit, requested=wanted,
                    usage=held.get(name, 0), start=timeutils.format_date(start),
                    end=timeutils.format_date(end))

    def _check_hours(self, context, name, limit, lease, mine, spans):
        project_id = lease['project_id']
        for span in spans:
            wanted = usage.hours(mine, span).get(name, 0)
            if not wanted:
                continue
            used = usage.hours_used(context, self.plugins, project_id, span,
                                    exclude_lease_id=lease['id']).get(name, 0)
            if wanted + used > limit:
                begin, finish = (timeutils.format_date(t) for t in span)
                base.refuse(
                    self.name,
                    f'Quota exceeded for {name}: project {project_id} may use '
                    f'{limit} {name} per {self.options.usage_period}; this lease '
                    f'asks for {wanted:g} from {begin} to {finish}, where the '
                    f'project already uses {used:g}',
                    resource=name, limit=limit, requested=round(wanted, 2),
                    usage=round(used, 2), start=begin, end=finish)


def report(conf, plugins, context, project_id, start, end):
    """The project's usage and limits over ``[start, end)`` (``GET /v1/usage``)."""
    limits = limits_mod.driver(conf).get(project_id)
    spans = usage.periods(start, end, conf.enforcement.usage_period)
    items = usage.holdings(context, plugins, project_id, start, end)
    peaks = usage.peak(items, start, end)
    resources = {name: {'usage': amount, 'limit': limits.get(name)}
                 for name, amount in peaks.items()}
    per_period = [(span, usage.hours_used(context, plugins, project_id, span))
                  for span in spans]
    names = {n for _s, h in per_period for n in h} | \
        {n for n in limits if n.endswith(usage.HOURS_SUFFIX)}
    for name in limits:
        if not name.endswith(usage.HOURS_SUFFIX):
            resources.setdefault(name, {'usage': 0, 'limit': limits[name]})
    for name in sorted(names):
        resources[name] = {
            'limit': limits.get(name),
            'periods': [{'start': timeutils.format_date(s[0]),
                         'end': timeutils.format_date(s[1]),
                         'usage': round(h.get(name, 0), 2)} for s, h in per_period]}
    return {'project_id': project_id, 'start': timeutils.format_date(start),
            'end': timeutils.format_date(end),
            'usage_period': conf.enforcement.usage_period,
            'quota_driver': conf.enforcement.quota_driver,
            'resources': resources}
