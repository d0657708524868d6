"""Host failures for capacity reservations: their slices move off failed hosts.

Mixed into :class:`climate.plugins.instance_capacity.plugin.CapacityReservations`;
the monitoring, the healing pass, degradation, restoration, records and
notifications are the shared :class:`climate.plugins.healing.Healing`, as for
``physical:host``. What is specific is what moves and where it may go:

* the slices of one reservation on one failed host move together (a host that is
  down with the slice starting within the healing horizon, or in maintenance over
  the slice's window: :mod:`climate.db.capacity_health`);
* their instances are placed again by the reservation's ``affinity`` on healthy hosts
  with room for the whole remaining window (:func:`climate.db.capacity_search.find_room`
  then :func:`~climate.db.capacity_search.place`): with affinity, all of them on the
  one host that holds the reservation's other instances if any, else on one host;
  with anti-affinity, each on a host holding none of the reservation's instances;
  otherwise anywhere, best fit, the reservation's own hosts first;
* in one transaction: the lease's row is held (no event or request runs meanwhile),
  every new host is claimed with the generation-guarded claim
  (:func:`climate.db.capacity_search.claim_room`), the old slices are deleted by a
  compare-and-delete on their host (of two managers, one takes them, the other rolls
  back and finds nothing left to heal), the new slices written, the failed host's
  generation bumped;
* an active reservation's aggregate then holds exactly its hosts and their slots,
  and Placement its units
  (:meth:`climate.plugins.instance_capacity.nova_side.NovaSide.hold_exactly`): the
  replacement joins with units, the failed host leaves and its units go (or, while
  servers there still hold some, offer nothing new until the end).

When no placement fits, the slices stay and the reservation is degraded until a later
pass moves them (or the host comes back). With ``on_host_failure: keep`` the slices
never move: the reservation is degraded while its host is down or in maintenance.

An admin's reallocation of a host and a new maintenance window
(:mod:`climate.plugins.physical_host.healing`) move the host's slices too, with the
same move, inside the host plugin's transaction (:meth:`CapacityHealing.slices_off`),
so the host's allocations and slices move all together or not at all.
"""

from oslo_log import log as logging

from climate import exceptions
from climate.common import states
from climate.common import timeutils
from climate.db import capacity_allocations
from climate.db import capacity_health
from climate.db import capacity_reservations
from climate.db import capacity_search
from climate.db import claims
from climate.db import host_health
from climate.plugins import healing

LOG = logging.getLogger(__name__)


class CapacityHealing(healing.Healing):
    """Healing of the capacity reservations of ``self.resource_type``."""

    def _to_heal(self, context, now, horizon):
        return capacity_health.slices_to_heal(context, self.resource_type, now,
                                              horizon)

    def _relocate(self, context, item, now, action, reason):
        if not host_health.hold_lease(context, item['lease_id']):
            raise healing.Lost(allocation=item['id'])
        reservation_id, failed = item['reservation_id'], item['host_id']
        values = capacity_reservations.get(context, reservation_id)
        active = item['reservation_status'] == states.Reservation.ACTIVE
        start, end = max(item['start'], now), item['end']
        held = {h: n for h, n in capacity_allocations.placement_of(
            context, reservation_id).items() if h != failed}
        size, clauses = self.size_of(values), self._clauses(context, values)
        rooms = [r for r in capacity_search.find_room(
            context, start, end, size, clauses, self.ratios, self.cleaning_time)
            if r.host_id != failed]
        if values['affinity'] is False:
            rooms = [r for r in rooms if r.host_id not in held]
        elif values['affinity'] and held:
            rooms = [r for r in rooms if r.host_id in held]
        placement = capacity_search.place(rooms, item['instances'],
                                          values['affinity'], prefer=held)
        if placement is None:
            return []
        capacity_search.claim_room(context, rooms, placement, size, start, end,
                                   clauses, self.ratios, self.cleaning_time,
                                   span=end - item['start'])
        if not capacity_health.take(context, item['slice_ids'], failed):
            raise healing.Lost(allocation=item['id'])
        capacity_allocations.insert(context, reservation_id, placement, size,
                                    start if active else item['start'], end)
        claims.bump(context, [failed])
        if active:
            host_health.set_changed(context, reservation_id)
        for new_host in sorted(placement):
            host_health.record(context, item['lease_id'], reservation_id, action,
                               failed_host_id=failed, new_host_id=new_host,
                               reason=reason)
        return sorted(placement)

    def slices_off(self, context, host_id, now, window=None, lease_id=None,
                   reservation_id=None, reason=None):
        """Move the host's slices (overlapping ``window``; of one lease or
        reservation) elsewhere, inside the caller's transaction.

        :returns: ``(moved, stuck)``: ``moved`` the ``(item, Outcome)`` of each new
            host, ``stuck`` the items no host could take (with a ``window``, those
            of reservations with ``on_host_failure: keep`` too).
        :raises exceptions.Conflict: a lease is busy with an event or a request.
        :raises healing.Lost: a slice moved meanwhile.
        """
        start, end = window or (None, None)
        moved, stuck = [], []
        for item in capacity_health.slices_on(
                context, self.resource_type, host_id, now, start, end,
                lease_id=lease_id, reservation_id=reservation_id):
            if item['lease_status'] not in healing.HEALABLE_LEASES:
                raise exceptions.Conflict(
                    f'Lease {item["lease_id"]} is {item["lease_status"]}; try again')
            new_hosts = []
            if window is None or item['on_host_failure'] != host_health.KEEP:
                new_hosts = self._relocate(context, item, now,
                                           host_health.REALLOCATED, reason)
            if not new_hosts:
                stuck.append(item)
            moved += [(item, healing.Outcome(
                host_health.REALLOCATED, item['lease_id'], item['reservation_id'],
                host_id, new_host, reason)) for new_host in new_hosts]
        return moved, stuck

    def sync_moved(self, context, moved):
        """After :meth:`slices_off` committed: the aggregates of the active
        reservations that moved follow their slices."""
        self._sync_aggregates(context, {
            item['reservation_id']: item['project_id'] for item, _ in moved
            if item['reservation_status'] == states.Reservation.ACTIVE})

    @staticmethod
    def _no_room(item, now):
        how = {True: ' on one host', False: ' on distinct hosts', None: ''}[
            item['affinity']]
        return (f'no healthy host has room for its {item["instances"]} instance(s)'
                f'{how} from {timeutils.format_date(max(item["start"], now))} to '
                f'{timeutils.format_date(item["end"])}')

    def _flagged(self, context):
        return host_health.flagged_reservations(context, self.resource_type)

    def _still_unhealthy(self, context, reservation_ids, now, horizon):
        return capacity_health.unhealthy_reservations(context, reservation_ids, now,
                                                      horizon)

    def _sync_aggregates(self, context, reservations):
        """The aggregates of active reservations hold their hosts and slots."""
        for reservation_id in sorted(reservations):
            try:
                self.nova.hold_exactly(reservation_id,
                                       self._hosts(context, reservation_id),
                                       self._nodes(context, reservation_id))
            except Exception:
                # The slices are right; the next update or event of the reservation
                # makes Nova follow them.
                LOG.exception('Could not move the hosts of healed reservation %s in '
                              'Nova', reservation_id)
