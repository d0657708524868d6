"""ExtensionWindowFilter (Climate's, after Chameleon's rule): a lease may be
prolonged only during the last ``[enforcement] extension_window`` hours before its
current end, and by at most ``max_extension`` hours in one update. Shortening or
moving a lease without prolonging it is not concerned."""

import datetime

from climate.common import timeutils
from climate.manager.enforcement import base

HOUR = datetime.timedelta(hours=1)


class ExtensionWindowFilter(base.Filter):
    name = 'ExtensionWindowFilter'

    def check_update(self, context, current, lease):
        extension = lease['end_date'] - current['end_date']
        if extension <= datetime.timedelta(0) or self.exempt(lease['project_id']):
            return
        window, most = self.options.extension_window, self.options.max_extension
        if window >= 0:
            opens = current['end_date'] - window * HOUR
            if timeutils.utcnow() < opens:
                base.refuse(self.name,
                            f'A lease may be prolonged only in the last {window} '
                            f'hours before its end ([enforcement] extension_window): '
                            f'try again after {timeutils.format_date(opens)}',
                            limit=window, opens_at=timeutils.format_date(opens))
        if most >= 0 and extension > most * HOUR:
            hours = extension / HOUR
            base.refuse(self.name,
                        f'A lease may be prolonged by at most {most} hours at a time '
                        f'([enforcement] max_extension); {hours:g} hours were asked',
                        limit=most, requested=hours)
