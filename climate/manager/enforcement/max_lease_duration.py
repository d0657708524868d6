"""MaxLeaseDurationFilter (Blazar's): a lease may last at most
``[enforcement] max_lease_duration`` seconds, except for the projects in
``max_lease_duration_exempt_project_ids``. A change is checked on the lease it would
make: a prolongation past the limit is refused as a new lease would be."""

from climate.manager.enforcement import base


class MaxLeaseDurationFilter(base.Filter):
    name = 'MaxLeaseDurationFilter'

    def _check(self, lease):
        limit = self.options.max_lease_duration
        if limit < 0 or lease['project_id'] in \
                self.options.max_lease_duration_exempt_project_ids:
            return
        duration = (lease['end_date'] - lease['start_date']).total_seconds()
        if duration > limit:
            base.refuse(self.name,
                        f'Lease duration of {int(duration)} seconds exceeds the '
                        f'maximum lease duration of {limit} seconds '
                        f'([enforcement] max_lease_duration)',
                        limit=limit, requested=int(duration))

    def check_create(self, context, lease):
        self._check(lease)

    def check_update(self, context, current, lease):
        self._check(lease)
