"""Healing shared by every plugin whose reservations hold compute hosts.

:class:`Healing` is the part of host-failure handling that does not depend on what a
reservation holds: recording the health of the nova-compute services
(:meth:`Healing.check_hosts`, :meth:`Healing.apply_host_states`), the healing pass
(:meth:`Healing.heal`: move what sits on a failed host or in a maintenance window,
degrade what cannot move, clear the flags of reservations whole again), and how each
outcome is recorded (``healing_records``) and reported (:attr:`healing_listener`,
which the manager's host monitor turns into notifications).

A plugin mixes it in and says what it holds through a few methods:

``_to_heal(context, now, horizon)``
    what must move: dicts with ``id``, ``host_id``, ``reservation_id``,
    ``lease_id``, ``project_id``, ``start``, ``end``, ``lease_status``,
    ``reservation_status``, ``on_host_failure`` and ``host_down``;
``_relocate(context, item, now, action, reason)``
    move one item inside the caller's transaction, claimed with the
    generation-guarded claim; the new host ids, or none when nothing fits
    (:class:`Lost` when another manager moved it or its lease is busy);
``_no_room(item, now)``
    why nothing fits, for the ``degraded`` record;
``_flagged(context)`` / ``_still_unhealthy(context, ids, now, horizon)``
    the reservations flagged ``missing_resources``, and those of them still
    holding something to heal;
``_sync_aggregates(context, {reservation id: project id})``
    make Nova follow the database for the active reservations that moved.

``physical:host`` (:mod:`climate.plugins.physical_host.healing`) and the capacity
reservations (:mod:`climate.plugins.instance_capacity.healing`) are the two users.
"""

import dataclasses

from oslo_log import log as logging

from climate import exceptions
from climate.common import states
from climate.common import timeutils
from climate.db import api as db_api
from climate.db import host_health
from climate.db import retry

LOG = logging.getLogger(__name__)
HEALABLE_LEASES = (states.Lease.PENDING, states.Lease.ACTIVE)
#: The options of host monitoring and healing, for every plugin.
OPTIONS_GROUP = 'physical:host'


class Lost(exceptions.ClimateException):
    """What was to move was moved by someone else meanwhile: roll back, skip it."""

    msg_fmt = 'allocation %(allocation)s moved meanwhile'


@dataclasses.dataclass
class Outcome:
    """One thing healing (or an admin's move) did to a reservation."""

    action: str                 # host_health.REPLACED/DEGRADED/RESTORED/REALLOCATED
    lease_id: str
    reservation_id: str
    failed_host: int | None = None
    new_host: int | None = None
    reason: str | None = None

    def as_dict(self):
        return {'action': self.action, 'lease_id': self.lease_id,
                'reservation_id': self.reservation_id,
                'failed_host': None if self.failed_host is None
                else str(self.failed_host),
                'new_host': None if self.new_host is None else str(self.new_host),
                'reason': self.reason}


class Healing:
    """The shared healing pass (see the module doc); needs ``compute`` and ``conf``."""

    #: ``callable(context, [Outcome])``, set by the manager to send notifications.
    healing_listener = None

    @property
    def healing_options(self):
        return self.conf[OPTIONS_GROUP]

    # Monitoring --------------------------------------------------------------------
    def check_hosts(self, context):
        """Read every nova-compute service in one call and record the changes.

        :returns: ``(failed, recovered)`` host ids whose change THIS call recorded.
        """
        services = self.compute.list_compute_services()
        return self.apply_host_states(context, {s.host: s.failure for s in services})

    def apply_host_states(self, context, failures):
        """Record ``{service host: failure reason or None}``; hosts not enrolled are
        ignored. Each change is a conditional UPDATE: of several managers seeing the
        same change, one records it (and only its call returns the host)."""
        known = host_health.monitored(context)
        failed, recovered = [], []
        for service, reason in sorted(failures.items()):
            if service not in known:
                continue
            host_id, status = known[service]
            if reason and status != host_health.DOWN:
                if host_health.mark_down(context, host_id, reason):
                    LOG.warning('Host %s (%s) failed: %s', host_id, service, reason)
                    failed.append(host_id)
            elif not reason and status == host_health.DOWN:
                if host_health.mark_up(context, host_id):
                    LOG.info('Host %s (%s) recovered', host_id, service)
                    recovered.append(host_id)
        return failed, recovered

    # Healing -----------------------------------------------------------------------
    def heal(self, context, now=None):
        """Move what must move off down hosts and maintenance windows, degrade what
        cannot, clear the flags of reservations whole again. Returns the outcomes."""
        now = now or timeutils.utcnow()
        horizon = host_health.horizon_end(now, self.healing_options.healing_interval)
        outcomes, resync = [], {}
        for item in self._to_heal(context, now, horizon):
            if item['lease_status'] not in HEALABLE_LEASES:
                continue  # busy with a request or an event: the next pass
            if item['on_host_failure'] == host_health.KEEP:
                done = [self._degrade(
                    context, item, f'host {item["host_id"]} is '
                    f'{self._trouble(item)}; the reservation keeps its hosts '
                    f'(on_host_failure: keep)')]
            else:
                done = self._replace(context, item, now)
            done = [o for o in done if o is not None]
            outcomes += done
            if any(o.action == host_health.REPLACED for o in done) and \
                    item['reservation_status'] == states.Reservation.ACTIVE:
                resync[item['reservation_id']] = item['project_id']
        outcomes += self._restore_whole(context, now, horizon)
        self._sync_aggregates(context, resync)
        self._report(context, outcomes)
        return outcomes

    @staticmethod
    def _trouble(item):
        return 'down' if item.get('host_down') else 'in maintenance'

    def _replace(self, context, item, now):
        reason = f'host {item["host_id"]} is {self._trouble(item)}'

        def attempt():
            with db_api.writer.using(context):
                return self._relocate(context, item, now, host_health.REPLACED,
                                      reason)
        try:
            new_hosts = retry.with_claim_retries(attempt,
                                                 self.conf.manager.claim_retries)
        except Lost:
            return []
        except exceptions.Conflict:
            LOG.warning('Healing allocation %s kept losing its claim; next pass',
                        item['id'])
            return []
        if not new_hosts:
            return [self._degrade(context, item,
                                  f'{reason}; {self._no_room(item, now)}')]
        LOG.info('Healed reservation %s: host %s replaced by %s',
                 item['reservation_id'], item['host_id'],
                 ', '.join(str(h) for h in new_hosts))
        return [Outcome(host_health.REPLACED, item['lease_id'], item['reservation_id'],
                        item['host_id'], new_host, reason) for new_host in new_hosts]

    def _degrade(self, context, item, reason):
        """Flag the reservation and its lease (once, until whole again)."""
        with db_api.writer.using(context):
            if not host_health.set_missing(context, item['reservation_id'], True):
                return None
            host_health.refresh_degraded(context, item['lease_id'])
            host_health.record(context, item['lease_id'], item['reservation_id'],
                               host_health.DEGRADED, failed_host_id=item['host_id'],
                               reason=reason)
        LOG.warning('Reservation %s of lease %s is degraded: %s',
                    item['reservation_id'], item['lease_id'], reason)
        return Outcome(host_health.DEGRADED, item['lease_id'], item['reservation_id'],
                       item['host_id'], reason=reason)

    def _restore_whole(self, context, now, horizon):
        flagged = self._flagged(context)
        still = self._still_unhealthy(context, flagged, now, horizon)
        outcomes = []
        reason = 'every host of the reservation is healthy'
        for reservation_id, lease_id in sorted(flagged.items()):
            if reservation_id in still:
                continue
            with db_api.writer.using(context):
                if not host_health.set_missing(context, reservation_id, False):
                    continue
                host_health.refresh_degraded(context, lease_id)
                host_health.record(context, lease_id, reservation_id,
                                   host_health.RESTORED, reason=reason)
            LOG.info('Reservation %s of lease %s is whole again', reservation_id,
                     lease_id)
            outcomes.append(Outcome(host_health.RESTORED, lease_id, reservation_id,
                                    reason=reason))
        return outcomes

    def _report(self, context, outcomes):
        if outcomes and self.healing_listener is not None:
            try:
                self.healing_listener(context, outcomes)
            except Exception:
                LOG.exception('Could not report what healing did')
