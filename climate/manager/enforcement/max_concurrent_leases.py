"""MaxConcurrentLeasesFilter (Climate's): a project may hold at most
``[enforcement] max_concurrent_leases`` unfinished leases at any instant of the window
of the lease being created or changed (that lease included). Counted inside the claim's
transaction under the project's lock, so concurrent creates cannot all slip in."""

from climate.db import project_usage
from climate.manager.enforcement import base
from climate.manager.enforcement import usage


class MaxConcurrentLeasesFilter(base.Filter):
    name = 'MaxConcurrentLeasesFilter'
    in_claim = True

    def check_claim(self, context, lease, current=None):
        limit = self.options.max_concurrent_leases
        if limit < 0 or self.exempt(lease['project_id']):
            return
        start, end = lease['start_date'], lease['end_date']
        others = [usage.Holding(lease_id, begin, finish, {'leases': 1})
                  for lease_id, begin, finish in project_usage.overlapping_leases(
                      context, lease['project_id'], start, end)
                  if lease_id != lease['id']]
        held = usage.peak(others, start, end).get('leases', 0)
        if held + 1 > limit:
            base.refuse(self.name,
                        f'Project {lease["project_id"]} may hold at most {limit} '
                        f'leases at the same time ([enforcement] '
                        f'max_concurrent_leases); it already holds {held} during '
                        f'this lease',
                        limit=limit, usage=held, requested=1)
