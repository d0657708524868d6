"""MaxLeadTimeFilter (Climate's): a lease may start at most
``[enforcement] max_lead_time`` hours from now. Moving the start of a lease later
is checked the same way; a change that keeps the start is not."""

import datetime

from climate.common import timeutils
from climate.manager.enforcement import base


class MaxLeadTimeFilter(base.Filter):
    name = 'MaxLeadTimeFilter'

    def _check(self, lease):
        hours = self.options.max_lead_time
        if hours < 0 or self.exempt(lease['project_id']):
            return
        latest = timeutils.utcnow() + datetime.timedelta(hours=hours)
        if lease['start_date'] > latest:
            base.refuse(self.name,
                        f'A lease may start at most {hours} hours from now '
                        f'([enforcement] max_lead_time); this one starts at '
                        f'{timeutils.format_date(lease["start_date"])}',
                        limit=hours, latest_start=timeutils.format_date(latest))

    def check_create(self, context, lease):
        self._check(lease)

    def check_update(self, context, current, lease):
        if lease['start_date'] > current['start_date']:
            self._check(lease)
