"""Notifications about leases (oslo.messaging Notifier, ``[oslo_messaging_notifications]``).

Event types: ``lease.create``, ``lease.update``, ``lease.delete`` and
``lease.event.<start_lease|end_lease|before_end_lease>``, with the lease as payload.
"""

import oslo_messaging as messaging
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
PUBLISHER_ID = 'climate.lease'


class LeaseNotifier:

    def __init__(self, conf, transport=None, driver=None):
        if transport is None:
            transport = messaging.get_notification_transport(conf)
        self._notifier = messaging.Notifier(transport, publisher_id=PUBLISHER_ID,
                                            driver=driver)

    def notify(self, context, event_type, lease):
        """Send ``lease`` (a view, or a callable making one only when it is sent)."""
        if not self._notifier.is_enabled():
            return
        try:
            payload = lease() if callable(lease) else lease
            self._notifier.info(context.to_dict(), event_type, payload)
        except Exception:  # a notification must never undo the work it reports
            LOG.exception('Could not send notification %s', event_type)
