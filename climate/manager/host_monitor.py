"""The host monitor: notices failed and recovered compute hosts and runs healing.

One thread per manager, when a loaded plugin heals hosts (``physical:host``, and
``virtual:instance`` / ``flavor:instance`` for their capacity reservations; any
plugin with ``check_hosts``, ``apply_host_states`` and ``heal`` takes part; the
services are read once for all of them, as the hosts' states are shared):

* the polling monitor (``[physical:host] enable_polling_monitor``) reads every
  nova-compute service in one call each ``polling_interval`` seconds;
* the notification monitor (``enable_notification_monitor``) consumes Nova's
  versioned ``service.update`` notifications on ``notification_topics`` of
  ``notification_exchange``, in a listener
  pool of its own (``climate-host-monitor``) so that each notification reaches one
  manager and Nova's other consumers still get theirs;
* healing (:meth:`heal`) runs at once when a host fails or recovers, and again every
  ``polling_interval`` seconds while anything is to heal: what enters the healing
  horizon (``healing_interval`` minutes), reservations still degraded (a host may have
  freed up).

Several managers may notice the same change: the plugin records it with a conditional
UPDATE and only the manager whose UPDATE changed the host heals at once; healing
itself is safe to run on every manager at the same time (each allocation moves once).

Each healing outcome is sent as a notification ``lease.healing.<action>``
(``replaced``, ``degraded``, ``restored``, ``reallocated``) with the lease's payload
and a ``healing`` item saying what happened.
"""

import threading

from oslo_log import log as logging
import oslo_messaging as messaging

from climate import context as climate_context

LOG = logging.getLogger(__name__)
GROUP = 'physical:host'
LISTENER_POOL = 'climate-host-monitor'


def service_failure(payload):
    """The failure reason in a versioned ``service.update`` payload (None: healthy),
    and its host; ``(None, None)`` for a service other than nova-compute."""
    data = payload.get('nova_object.data', payload) if isinstance(payload, dict) else {}
    if data.get('binary') != 'nova-compute' or not data.get('host'):
        return None, None
    reasons = []
    if data.get('forced_down'):
        reasons.append('forced down')
    if data.get('disabled'):
        reasons.append('service disabled' + (f' ({data["disabled_reason"]})'
                                             if data.get('disabled_reason') else ''))
    return data['host'], ', '.join(reasons) or None


class ServiceUpdateEndpoint:
    """oslo.messaging notification endpoint for Nova's ``service.update``."""

    filter_rule = messaging.NotificationFilter(event_type=r'^service\.update$')

    def __init__(self, monitor):
        self.monitor = monitor

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        host, reason = service_failure(payload)
        if host is not None:
            self.monitor.service_changed(host, reason)
        return messaging.NotificationResult.HANDLED


class HostMonitor:

    def __init__(self, conf, service, plugins, transport=None):
        self.conf = conf
        self.service = service
        self.plugins = [p for p in plugins.values()
                        if all(hasattr(p, name) for name in
                               ('check_hosts', 'apply_host_states', 'heal'))]
        for plugin in self.plugins:
            plugin.healing_listener = self.report
        self._transport = transport
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread = None
        self._listener = None

    @property
    def options(self):
        return self.conf[GROUP]

    @property
    def context(self):
        return climate_context.admin_context()

    # Life cycle ------------------------------------------------------------------------
    def start(self):
        if not self.plugins:
            return
        if self.options.enable_notification_monitor:
            transport = self._transport or messaging.get_notification_transport(
                self.conf)
            targets = [messaging.Target(topic=topic,
                                        exchange=self.options.notification_exchange)
                       for topic in self.options.notification_topics]
            self._listener = messaging.get_notification_listener(
                transport, targets, [ServiceUpdateEndpoint(self)],
                executor='threading', pool=LISTENER_POOL, allow_requeue=False)
            self._listener.start()
        self._thread = threading.Thread(target=self._loop, name='climate-host-monitor',
                                        daemon=True)
        self._thread.start()
        LOG.info('Host monitor started (polling %s, notifications %s, healing '
                 'horizon %d min)', self.options.enable_polling_monitor,
                 self.options.enable_notification_monitor,
                 self.options.healing_interval)

    def stop(self):
        self._stopping.set()
        self._wake.set()
        if self._listener is not None:
            self._listener.stop()
            self._listener.wait()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wake(self):
        """Heal now (e.g. a host was freed)."""
        self._wake.set()

    # The loop --------------------------------------------------------------------------
    def _loop(self):
        while not self._stopping.is_set():
            self._wake.clear()
            if self.options.enable_polling_monitor:
                self.poll()
            self.heal()
            self._wake.wait(self.options.polling_interval)

    def poll(self):
        # Host states are shared by every plugin (computehosts): one read records
        # them for all; the next plugin polls only if this one failed.
        for plugin in self.plugins:
            try:
                failed, recovered = plugin.check_hosts(self.context)
            except Exception:
                LOG.exception('Polling the compute services failed')
                continue
            if failed or recovered:
                self._wake.set()
            return

    def service_changed(self, host, reason):
        """A notification said the service of ``host`` failed (``reason``) or is
        healthy (None)."""
        for plugin in self.plugins:
            try:
                failed, recovered = plugin.apply_host_states(self.context,
                                                             {host: reason})
            except Exception:
                LOG.exception('Recording the state of host %s failed', host)
                continue
            if failed or recovered:
                self._wake.set()
            return

    def heal(self):
        outcomes = []
        for plugin in self.plugins:
            try:
                outcomes += plugin.heal(self.context)
            except Exception:
                LOG.exception('Healing failed; it runs again at the next pass')
        return outcomes

    # Notifications ---------------------------------------------------------------------
    def report(self, context, outcomes):
        for outcome in outcomes:
            item = outcome.as_dict()
            lease_id = outcome.lease_id

            def view(lease_id=lease_id, item=item):
                return dict(self.service.get_lease(self.context, lease_id),
                            healing=item)
            self.service.notifier.notify(self.context,
                                         f'lease.healing.{outcome.action}', view)
