"""Notifications about leases, in the shape Blazar's consumers read.

Sent with an oslo.messaging Notifier (``[oslo_messaging_notifications]`` picks the
driver, topics and transport) at priority INFO, from publisher ``[notifications]
publisher_id``. Event types are Blazar's: ``lease.create``, ``lease.update``,
``lease.delete`` and ``lease.event.<start_lease|end_lease|before_end_lease>``.

The payload (:func:`lease_payload`) has Blazar's keys, ``lease_id`` first, with the
lease's API view values (Blazar's date formats), and keeps the view's other keys
(``id``, ``status_reason``, an event's ``error`` ...) beside them.
"""

from oslo_log import log as logging
import oslo_messaging as messaging

LOG = logging.getLogger(__name__)

# Blazar's payload keys besides lease_id, reservations and events, taken from the view.
LEASE_KEYS = ('user_id', 'project_id', 'trust_id', 'start_date', 'end_date', 'status',
              'name', 'created_at', 'updated_at', 'degraded')
RESERVATION_KEYS = ('id', 'lease_id', 'resource_id', 'resource_type', 'status',
                    'missing_resources', 'resources_changed', 'created_at',
                    'updated_at')
EVENT_KEYS = ('id', 'lease_id', 'event_type', 'time', 'status', 'created_at',
              'updated_at')


def _with_keys(view, keys):
    """``view`` copied, with every one of ``keys`` present (None when missing)."""
    shaped = {key: view.get(key) for key in keys}
    shaped.update((key, value) for key, value in view.items() if key not in shaped)
    return shaped


def lease_payload(view):
    """The notification payload for a lease API view (the view is not changed)."""
    payload = {'lease_id': view['id']}
    payload.update(_with_keys(view, LEASE_KEYS))
    payload['reservations'] = [_with_keys(r, RESERVATION_KEYS)
                               for r in view.get('reservations') or ()]
    payload['events'] = [_with_keys(e, EVENT_KEYS) for e in view.get('events') or ()]
    return payload


class LeaseNotifier:
    """Sends lease notifications on ``transport`` (default: the notification
    transport of ``conf``); ``driver`` overrides ``[oslo_messaging_notifications]
    driver``."""

    def __init__(self, conf, transport=None, driver=None):
        if transport is None:
            transport = messaging.get_notification_transport(conf)
        self.transport = transport
        self.publisher_id = conf.notifications.publisher_id
        self._notifier = messaging.Notifier(transport, publisher_id=self.publisher_id,
                                            driver=driver)

    @property
    def enabled(self):
        """Whether notifications are sent (a driver other than ``noop`` is set)."""
        return self._notifier.is_enabled()

    def notify(self, context, event_type, lease):
        """Send ``lease`` (a view, or a callable making one only when it is sent)."""
        if not self.enabled:
            return
        try:
            view = lease() if callable(lease) else lease
            self._notifier.info(context.to_dict(), event_type, lease_payload(view))
        except Exception:  # a notification must never undo the work it reports
            LOG.exception('Could not send notification %s', event_type)
