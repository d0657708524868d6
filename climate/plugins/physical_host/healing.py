"""Host failures for ``physical:host``: healing, reallocation and maintenance windows.

Mixed into the plugin (:class:`HostHealing`), which provides ``compute``, ``pools``,
``options``, ``cleaning_time`` and ``_clauses``. The monitoring and the healing pass
are the shared :class:`climate.plugins.healing.Healing` (the manager's host monitor,
``climate.manager.host_monitor``, calls ``check_hosts``, ``apply_host_states`` and
``heal``); this module says what a host reservation holds (its allocations of whole
hosts) and how one moves. The REST API reaches :meth:`reallocate` and the maintenance
methods through ``call_plugin``. What healing did is handed to ``healing_listener``
(the monitor sends a notification per item) and recorded in ``healing_records``
(shown in each reservation of ``lease show`` as ``healing``).

Healing keeps the claim invariant: a replacement host is found by the same free-host
search as a new lease (matching the reservation's request, up, out of maintenance,
free over the allocation's remaining window widened by the cleaning time), claimed by
its generation, and the allocation moved by a compare-and-update of its host
(:func:`climate.db.host_health.move_allocation`), all in one transaction retried on
a lost claim. Of two managers healing the same allocation, one moves it and the
other finds it gone. For an active reservation the Nova aggregate then follows the
allocations (the replacement joins, the failed host goes back to the freepool).

An allocation that cannot be moved stays where it is and its reservation is marked
``missing_resources`` (the lease ``degraded``), with a ``degraded`` record; it is
tried again at every healing pass, and the flags are cleared (``restored``) once the
reservation holds no allocation on a down host or in maintenance.
"""

from oslo_log import log as logging

from climate import exceptions
from climate.common import states
from climate.common import timeutils
from climate.db import api as db_api
from climate.db import claims
from climate.db import host_health
from climate.db import host_reservations
from climate.db import host_search
from climate.db import hosts as host_db
from climate.db import retry
from climate.plugins import healing
from climate.plugins.physical_host import request as request_mod

LOG = logging.getLogger(__name__)
HEALABLE_LEASES = healing.HEALABLE_LEASES
Outcome = healing.Outcome
_Lost = healing.Lost


def _date(value):
    try:
        return timeutils.parse_date(value)
    except timeutils.InvalidDate:
        raise exceptions.InvalidDate(date=value) from None


class HostHealing(healing.Healing):

    #: The plugins holding capacity slices (``slice_mover``), set by the manager: a
    #: reallocation or a maintenance window moves the host's slices too.
    slice_movers = ()

    # What the shared healing pass needs -------------------------------------------
    def _to_heal(self, context, now, horizon):
        return host_health.allocations_to_heal(context, now, horizon)

    def _relocate(self, context, allocation, now, action, reason):
        new_host = self._move(context, allocation, now, action, reason)
        return [] if new_host is None else [new_host]

    @staticmethod
    def _no_room(allocation, now):
        return (f'no healthy host matching the reservation is free from '
                f'{timeutils.format_date(max(allocation["start"], now))} to '
                f'{timeutils.format_date(allocation["end"])}')

    def _flagged(self, context):
        return host_health.flagged_reservations(context, self.resource_type)

    def _still_unhealthy(self, context, reservation_ids, now, horizon):
        return host_health.unhealthy_reservations(context, reservation_ids, now,
                                                  horizon)

    def _search(self, context, reservation_id, start, end, avoid=()):
        """``(clauses, found)``: the reservation's requirements as WHERE clauses, and
        at most one free host matching them."""
        request = request_mod.validate_update(
            {}, host_reservations.get(context, reservation_id))
        clauses = self._clauses(context, request)
        if avoid:
            clauses.append(host_health.not_host_clause(avoid))
        return clauses, host_search.find_free_hosts(
            context, start, end, clauses, 1, strategy=self.options.host_selection,
            cleaning=self.cleaning_time, sample=self.options.selection_sample)

    def _move(self, context, allocation, now, action, reason, avoid=()):
        """Move one allocation inside the caller's transaction; the new host id,
        or None when no host fits. :raises _Lost: it moved meanwhile, or its lease
        is no longer PENDING or ACTIVE (an event or a request has it)."""
        if not host_health.hold_lease(context, allocation['lease_id']):
            raise _Lost(allocation=allocation['id'])
        start = max(allocation['start'], now)
        clauses, found = self._search(context, allocation['reservation_id'], start,
                                      allocation['end'], avoid=avoid)
        if not found:
            return None
        host_search.claim_free(context, found, start, allocation['end'], clauses,
                               self.cleaning_time,
                               span=allocation['end'] - allocation['start'])
        active = allocation['reservation_status'] == states.Reservation.ACTIVE
        if not host_health.move_allocation(context, allocation['id'],
                                           allocation['host_id'], found[0].host_id,
                                           start=start if active else None):
            raise _Lost(allocation=allocation['id'])
        claims.bump(context, [allocation['host_id']])
        if active:
            host_health.set_changed(context, allocation['reservation_id'])
        host_health.record(context, allocation['lease_id'],
                           allocation['reservation_id'], action,
                           failed_host_id=allocation['host_id'],
                           new_host_id=found[0].host_id, reason=reason)
        return found[0].host_id

    def _sync_aggregates(self, context, reservations):
        """Make the aggregates of active reservations hold their allocated hosts."""
        for reservation_id, project_id in sorted(reservations.items()):
            try:
                self.pools.hold_exactly(reservation_id, project_id,
                                        self._service_hosts(context, reservation_id))
            except Exception:
                # The allocations are right; the next move, update or event of the
                # reservation makes Nova follow them.
                LOG.exception('Could not move the hosts of healed reservation %s in '
                              'Nova', reservation_id)

    # Reallocation on request -------------------------------------------------------
    def reallocate(self, context, host_id, lease_id=None, reservation_id=None):
        """Move the host's allocations (those of one lease or reservation, or all
        that have not ended) to other matching hosts, all or none (409)."""
        host_id = int(host_db.get(context, host_id)['id'])
        now = timeutils.utcnow()
        self._move_off(context, host_id, now, lease_id=lease_id,
                       reservation_id=reservation_id,
                       reason=f'reallocated off host {host_id} by an admin')
        return self.get_allocation(context, host_id)

    def _move_off(self, context, host_id, now, window=None, lease_id=None,
                  reservation_id=None, reason=None, force=False, before_commit=None):
        """Move the host's allocations (overlapping ``window``) elsewhere in one
        transaction. Those that cannot move make it fail (409 naming their leases),
        unless ``force``: then their reservations are degraded.

        ``before_commit(context)`` runs last in the transaction (a maintenance
        window is inserted there). Returns the outcomes.
        """
        start, end = window or (None, None)

        synced = []

        def attempt():
            outcomes, stuck = [], []
            synced.clear()
            with db_api.writer.using(context):
                for allocation in host_health.allocations_on(
                        context, host_id, now, start, end, lease_id=lease_id,
                        reservation_id=reservation_id):
                    if allocation['lease_status'] not in HEALABLE_LEASES:
                        raise exceptions.Conflict(
                            f'Lease {allocation["lease_id"]} is '
                            f'{allocation["lease_status"]}; try again')
                    new_host = None
                    # An admin's reallocation moves any allocation; a maintenance
                    # window respects on_host_failure: keep.
                    if window is None or \
                            allocation['on_host_failure'] != host_health.KEEP:
                        new_host = self._move(context, allocation, now,
                                              host_health.REALLOCATED, reason,
                                              avoid=[host_id])
                    if new_host is None:
                        stuck.append(allocation)
                        continue
                    outcomes.append((allocation, Outcome(
                        host_health.REALLOCATED, allocation['lease_id'],
                        allocation['reservation_id'], host_id, new_host, reason)))
                for owner in self.slice_movers:
                    mover = owner.slice_mover
                    moved, stuck_slices = mover.slices_off(
                        context, host_id, now, window, lease_id=lease_id,
                        reservation_id=reservation_id, reason=reason)
                    outcomes += moved
                    stuck += stuck_slices
                    synced.append((mover, moved))
                if stuck and not force:
                    leases = sorted({a['lease_id'] for a in stuck})
                    raise exceptions.NotEnoughHostsAvailable(
                        f'Not enough hosts available: the allocations of lease(s) '
                        f'{", ".join(leases)} on host {host_id} cannot move to another '
                        f'free matching host (or host with room)')
                for allocation in stuck:
                    if host_health.set_missing(context, allocation['reservation_id'],
                                               True):
                        host_health.refresh_degraded(context, allocation['lease_id'])
                        text = f'{reason}; no other host could take the allocation'
                        host_health.record(context, allocation['lease_id'],
                                           allocation['reservation_id'],
                                           host_health.DEGRADED,
                                           failed_host_id=host_id, reason=text)
                        outcomes.append((allocation, Outcome(
                            host_health.DEGRADED, allocation['lease_id'],
                            allocation['reservation_id'], host_id, reason=text)))
                if before_commit is not None:
                    before_commit(context)
            return outcomes
        try:
            done = retry.with_claim_retries(attempt, self.conf.manager.claim_retries)
        except _Lost:
            raise exceptions.Conflict(
                f'the allocations of host {host_id} changed meanwhile; try '
                f'again') from None
        self._sync_aggregates(context, {
            a['reservation_id']: a['project_id'] for a, o in done
            if o.action == host_health.REALLOCATED and 'slice_ids' not in a and
            a['reservation_status'] == states.Reservation.ACTIVE})
        for mover, moved in synced:
            mover.sync_moved(context, moved)
        self._report(context, [o for _, o in done])
        return [o for _, o in done]

    # Maintenance windows -----------------------------------------------------------
    def create_maintenance(self, context, host_id, values):
        """Take the host out of service for ``[start_date, end_date)``: its
        allocations overlapping the window move to other hosts first, all or none
        (409 naming the leases that cannot move) unless ``force`` (they stay and
        their leases are degraded until healing finds them a host)."""
        host_id = int(host_db.get(context, host_id)['id'])
        body = dict(values or {})
        for name in ('start_date', 'end_date'):
            if body.get(name) in (None, ''):
                raise exceptions.MissingParameter(param=name)
        start, end = (_date(body['start_date']), _date(body['end_date']))
        now = timeutils.utcnow()
        if end <= start:
            raise exceptions.InvalidInput('end_date must be later than start_date')
        if end <= now:
            raise exceptions.InvalidInput('end_date must be in the future')
        force = body.get('force', False)
        if not isinstance(force, bool):
            raise exceptions.MalformedParameter(
                f'Malformed parameter force: {force!r} is not a boolean')
        reason = body.get('reason')
        if reason is not None and not isinstance(reason, str):
            raise exceptions.MalformedParameter('Malformed parameter reason: text')
        created = []

        def insert(ctx):
            created.append(host_health.insert_maintenance(ctx, host_id, start, end,
                                                          reason))
            # Searches that read the host free must start over.
            claims.bump(ctx, [host_id])

        cleaning = self.cleaning_time
        outcomes = self._move_off(
            context, host_id, now, window=(start - cleaning, end + cleaning),
            reason=f'host {host_id} is in maintenance from '
                   f'{timeutils.format_date(start)} to {timeutils.format_date(end)}'
                   + (f' ({reason})' if reason else ''),
            force=force, before_commit=insert)
        maintenance = host_health.maintenances(context, maintenance_id=created[-1])[0]
        maintenance['moved'] = [o.as_dict() for o in outcomes
                                if o.action == host_health.REALLOCATED]
        maintenance['degraded'] = [o.as_dict() for o in outcomes
                                   if o.action == host_health.DEGRADED]
        return maintenance

    def list_maintenances(self, context, host_id):
        host_id = int(host_db.get(context, host_id)['id'])
        return host_health.maintenances(context, host_id=host_id,
                                        now=timeutils.utcnow())

    def delete_maintenance(self, context, host_id, maintenance_id):
        host_id = int(host_db.get(context, host_id)['id'])
        if not host_health.delete_maintenance(context, host_id, maintenance_id):
            raise exceptions.NotFound(
                f'Maintenance {maintenance_id} of host {host_id} not found')
