"""``physical.host.plugin``: reservations of whole compute hosts for a time window.

Life of a reservation (the manager calls these in order, see ``climate.plugins.base``):

``validate``  the request's ``min``/``max``/properties/``before_end`` (400s);
``reserve``   in the lease's transaction: find up to ``max`` free matching hosts in
              SQL (:mod:`climate.db.host_search`), claim them atomically (per-host
              generation, :mod:`climate.db.claims`), write the allocations;
``prepare``   nothing: the reservation's Nova aggregate (named after the reservation,
              availability zone ``az_prefix`` + id, owner metadata) is made by
              ``on_start``, off the create's request path (doc/source/events.md,
              "Work at create and at start");
``update``    re-allocate for a new window or count, atomically, keeping the hosts it
              can (all of them once started); 409 and no change when impossible;
``after_update`` make the aggregate of a started reservation hold exactly its
              allocated hosts (others back to the freepool);
``snapshot``/``restore``  the allocations and request row before an update, put
              back (claiming what was given up) when its ``after_update`` failed;
``on_start``  create the aggregate if missing, move the hosts from the freepool into
              it (a failure is retried by the event engine, as any start);
``before_end`` snapshot the servers when asked;
``on_end``    delete the servers left (``[physical:host] on_end``), return the hosts to
              the freepool, delete the aggregate, drop the allocations;
``release``   undo ``prepare`` (and any half-done start) for a reservation that never
              started.

Host administration (``/v1/os-hosts`` through the manager's ``call_plugin``) is in
:class:`HostAdmin`, and host failures (monitoring, healing, reallocation, maintenance
windows) in :class:`~climate.plugins.physical_host.healing.HostHealing`, both mixed in
here so they share the compute driver. Every SQL
statement is in ``climate.db``: ``hosts``, ``host_search``, ``claims``,
``host_allocations`` and ``host_reservations``.
"""

import datetime
import threading

from oslo_log import log as logging

from climate import compute
from climate import exceptions
from climate.common import states
from climate.common import timeutils
from climate.db import availability
from climate.db import claims
from climate.db import host_allocations
from climate.db import host_health
from climate.db import host_reservations
from climate.db import host_search
from climate.db import hosts as host_db
from climate.db import models
from climate.db import project_usage
from climate.plugins import base
from climate.plugins.physical_host import admin
from climate.plugins.physical_host import healing
from climate.plugins.physical_host import pools
from climate.plugins.physical_host import request
from climate.plugins.physical_host import requirements

LOG = logging.getLogger(__name__)
RESOURCE_TYPE = 'physical:host'


class PhysicalHostPlugin(admin.HostAdmin, healing.HostHealing, base.ResourcePlugin):
    resource_type = RESOURCE_TYPE
    rpc_methods = admin.RPC_METHODS

    uses_compute = True

    def __init__(self, conf, compute_driver=None):
        super().__init__(conf)
        self._compute = compute_driver
        self._compute_lock = threading.Lock()

    # Shared helpers -------------------------------------------------------------------
    @property
    def compute(self):
        """The compute driver, built on first use (``[compute] driver``)."""
        if self._compute is None:
            with self._compute_lock:
                if self._compute is None:
                    self._compute = compute.get_driver(self.conf)
        return self._compute

    @property
    def pools(self):
        return pools.HostPools(self.compute, self.conf)

    @property
    def options(self):
        return self.conf[RESOURCE_TYPE]

    @property
    def cleaning_time(self):
        return datetime.timedelta(minutes=self.conf.cleaning_time)

    # Reservation requests ---------------------------------------------------------------
    def validate(self, context, values):
        return request.validate_create(values)

    def new_resource_id(self, values):
        return models.new_id()

    def reserve(self, context, lease, reservation, values):
        reservation.resource_id = host_reservations.create(
            context, reservation.id, values, reservation.resource_id)
        clauses = self._clauses(context, values)
        chosen = self._choose(context, values, clauses, lease.start_date,
                              lease.end_date)
        host_search.claim_free(context, chosen, lease.start_date, lease.end_date,
                               clauses, self.cleaning_time)
        host_allocations.insert(context, reservation.id, [c.host_id for c in chosen],
                                lease.start_date, lease.end_date)

    def _choose(self, context, values, clauses, start, end, reservation_id=None,
                keep=()):
        """The hosts for ``values`` (``clauses``: its requirements, see
        :meth:`_clauses`) in ``[start, end)``, best first (at most ``max``).

        :raises NotEnoughHostsAvailable: (409) fewer than ``min``.
        """
        found = host_search.find_free_hosts(
            context, start, end, clauses, values['max'],
            strategy=self.options.host_selection, cleaning=self.cleaning_time,
            exclude_reservation=reservation_id, preferred=keep,
            sample=self.options.selection_sample)
        if len(found) < values['min']:
            wanted = values['min'] if values['min'] == values['max'] else \
                f'{values["min"]} to {values["max"]}'
            raise exceptions.NotEnoughHostsAvailable(
                f'Not enough hosts available: {wanted} wanted from '
                f'{timeutils.format_date(start)} to {timeutils.format_date(end)}, '
                f'{len(found)} free and matching')
        return found

    def _clauses(self, context, values):
        parsed = values.requirements  # a request.HostRequest
        wanted = requirements.capability_names(*parsed.values())
        unknown = wanted - host_db.known_properties(context, RESOURCE_TYPE, wanted)
        if unknown:
            field = next(f for f, reqs in parsed.items()
                         if unknown & requirements.names(reqs))
            raise exceptions.InvalidInput(
                f'Unknown host propert{"ies" if len(unknown) > 1 else "y"} '
                f'{", ".join(sorted(unknown))} in {field}: neither a host field nor an '
                f'extra capability of any host')
        return [host_search.requirement_clause(
                    r, RESOURCE_TYPE, requirements.NUMERIC_FIELDS,
                    requirements.TEXT_FIELDS)
                for reqs in parsed.values() for r in reqs]

    # Availability -----------------------------------------------------------------------
    searches_availability = True

    def find_windows(self, context, values, duration, start_after, end_before, limit):
        return availability.find_windows(
            context, self._clauses(context, values), duration, start_after,
            end_before, values['min'], limit, self.cleaning_time)

    def busy(self, context, values, start, end, host_ids=None):
        return availability.busy_in_range(context, self._clauses(context, values),
                                          start, end, host_ids=host_ids)

    def update(self, context, lease, reservation, values, start_date, end_date):
        current = host_reservations.get(context, reservation.id)
        wanted = request.validate_update(values or {}, current)
        same_window = (start_date, end_date) == (lease.start_date, lease.end_date)
        allocation_fields = ('min', 'max') + request.PROPERTY_FIELDS
        if same_window and all(wanted[f] == current[f] for f in allocation_fields):
            if wanted != current:
                host_reservations.store(context, reservation.id, wanted)
            return
        held = host_allocations.hosts_of(context, reservation.id)
        started = reservation.status != states.Reservation.PENDING
        if started and len(held) > wanted['max']:
            raise exceptions.CantUpdateParameter(
                f'max cannot be lower than the {len(held)} hosts the reservation has '
                f'held since it started')
        clauses = self._clauses(context, wanted)
        chosen = self._choose(context, wanted, clauses, start_date, end_date,
                              reservation_id=reservation.id, keep=set(held))
        chosen_ids = {c.host_id for c in chosen}
        lost = set(held) - chosen_ids
        if started and lost:
            raise exceptions.NotEnoughHostsAvailable(
                f'Not enough hosts available: host(s) '
                f'{", ".join(str(h) for h in sorted(lost))} of the started reservation '
                f'{reservation.id} are not free or no longer match from '
                f'{timeutils.format_date(start_date)} to '
                f'{timeutils.format_date(end_date)}')
        host_search.claim_free(context, chosen, start_date, end_date, clauses,
                               self.cleaning_time, exclude_reservation=reservation.id)
        host_allocations.remove(context, reservation.id, lost)
        claims.bump(context, lost)
        host_allocations.move(context, reservation.id, start_date, end_date)
        host_allocations.insert(context, reservation.id, chosen_ids - set(held),
                                start_date, end_date)
        host_reservations.store(context, reservation.id, wanted)

    def snapshot(self, context, reservation):
        return {'request': host_reservations.get(context, reservation.id),
                'allocations': host_allocations.rows_of(context, reservation.id)}

    def restore(self, context, reservation, saved):
        host_allocations.put_back(context, reservation.id, saved['allocations'],
                                  self.cleaning_time)
        host_reservations.store(context, reservation.id, saved['request'])

    def after_update(self, context, lease, reservation):
        if reservation['status'] == states.Reservation.ACTIVE:
            # Hosts added to a running reservation join its aggregate now; hosts an
            # undone update had added leave it.
            self.pools.hold_exactly(reservation['id'], lease['project_id'],
                                    self._service_hosts(context, reservation['id']))

    def usages(self, context, project_id, start, end):
        """Whole hosts: ``{'hosts': n}`` for each reservation (usage policy)."""
        return [(lease_id, begin, finish, {'hosts': count})
                for lease_id, begin, finish, count in
                project_usage.hosts_held(context, project_id, start, end)]

    def hours_used(self, context, project_id, start, end, exclude_lease_id=None):
        return {'host_hours': project_usage.host_hours(context, project_id, start, end,
                                                       exclude_lease_id)}

    def details(self, context, reservations):
        ids = [r.id for r in reservations]
        if not ids:
            return {}
        found = host_reservations.many(context, ids)
        records = host_health.records(context, ids)
        for reservation_id, fields in found.items():
            fields['healing'] = records.get(reservation_id, [])
        return found

    def created_details(self, reservation, values):
        # A new reservation has no healing records yet.
        return dict(host_reservations.shown(values), healing=[])

    # Events -----------------------------------------------------------------------------
    def on_start(self, context, lease, reservation):
        self.pools.take(reservation['id'], lease['project_id'],
                        self._service_hosts(context, reservation['id']))

    def before_end(self, context, lease, reservation):
        choice = host_reservations.before_end(context, reservation['id'])
        if choice == 'default':
            choice = self.options.before_end
        if choice == 'snapshot':
            self.pools.snapshot_servers(reservation['id'],
                                        self._service_hosts(context, reservation['id']))

    def on_end(self, context, lease, reservation):
        hosts = self._service_hosts(context, reservation['id'])
        if self.options.on_end == 'delete':
            self.pools.delete_servers(hosts)
        self.pools.give_back(reservation['id'], hosts)
        host_allocations.release(context, reservation['id'])

    def release(self, context, lease, reservation):
        self.pools.give_back(reservation['id'],
                             self._service_hosts(context, reservation['id']))

    def _service_hosts(self, context, reservation_id):
        return [name for name in host_allocations.hosts_of(context, reservation_id)
                .values() if name]

