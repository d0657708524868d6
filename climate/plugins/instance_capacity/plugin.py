"""Capacity reservations: the shared core, and the ``flavor:instance`` plugin.

:class:`CapacityReservations` serves both ``virtual:instance`` without
``resource_id`` (the ``virtual:instance`` plugin hands such reservations to it) and
``flavor:instance`` (:class:`FlavorInstancePlugin`, entry point
``flavor.instance.plugin``). Life of a reservation:

``validate``  the request (``request``); for ``flavor:instance`` the size and extra
              specs are read from the flavor;
``reserve``   in the lease's transaction: the hosts with room for the size over the
              window (:func:`climate.db.capacity_search.find_room`), the placement of
              ``amount`` instances by ``affinity``, the generation-guarded claim of
              every host used (:func:`climate.db.capacity_search.claim_room`), the
              slices;
``prepare``   the server group, when ``affinity`` is set (:mod:`.nova_side`);
``update``    re-place for a new window, size or amount, atomically (409 and no change
              when it does not fit); once started the instances keep their hosts and
              only ``amount`` may grow;
``snapshot``/``restore``  the request and slices, put back (claimed) when an
              update's Nova side failed;
``after_update`` a started reservation's aggregate and Placement units follow its
              slices;
``on_start``  the aggregate (made if missing, its id recorded), its hosts and slots,
              the units of the reservation's custom resource class into Placement,
              the flavor for the project;
``on_end``    servers booted with the flavor snapshotted (``on_end:
              snapshot_and_delete``, waiting until the images are saved) and deleted,
              flavor, units and class, group and aggregate removed, slices dropped;
``release``   (never started) the Nova objects removed.

For usage policy (quotas), a reservation holds the sums of its slices (``vcpus``,
``memory_mb``, ``instances``) while its lease runs; ``*_hours`` are summed in SQL.

Host failures (:mod:`.healing`): the slices on a failed host or in a maintenance
window move to healthy hosts, or the reservation is degraded; both plugins serving
capacity reservations take part in the manager's host monitor (``check_hosts``,
``apply_host_states``, ``heal``), each healing the reservations of its own type.
"""

import datetime
import threading

from climate import compute
from climate import exceptions
from climate.common import states
from climate.common import timeutils
from climate.compute import exceptions as compute_exc
from climate.db import capacity_allocations
from climate.db import capacity_reservations
from climate.db import capacity_search
from climate.db import host_health
from climate.db import host_search
from climate.db import hosts as host_db
from climate.db import models
from climate.db import project_usage
from climate.plugins import base
from climate.plugins.instance_capacity import healing
from climate.plugins.instance_capacity import nova_side
from climate.plugins.instance_capacity import request
from climate.plugins.physical_host import requirements
from climate.plugins.virtual_instance import servers

FLAVOR_INSTANCE = 'flavor:instance'
VIRTUAL_INSTANCE = 'virtual:instance'
#: Capabilities named in ``resource_properties`` are the enrolled hosts'.
HOST_RESOURCE_TYPE = 'physical:host'


def size_of(values):
    return capacity_search.Size(values['vcpus'], values['memory_mb'],
                                values['disk_gb'])


class CapacityReservations(healing.CapacityHealing):
    """What both capacity resource types do (see the module doc); ``resource_type``
    is the type whose reservations this one heals."""

    size_of = staticmethod(size_of)

    def __init__(self, conf, compute_driver, resource_type=VIRTUAL_INSTANCE):
        self.conf = conf
        self.compute = compute_driver
        self.nova = nova_side.NovaSide(compute_driver)
        self.resource_type = resource_type

    @property
    def default_on_end(self):
        return self.conf['virtual:instance'].capacity_on_end

    @property
    def cleaning_time(self):
        return datetime.timedelta(minutes=self.conf.cleaning_time)

    @property
    def ratios(self):
        return capacity_search.Ratios.from_conf(self.conf)

    # Requests ------------------------------------------------------------------------
    def validate_flavor(self, context, values):
        flavor_id, amount, on_host_failure, on_end = request.parse_flavor(
            values, self.default_on_end)
        try:
            flavor = self.compute.get_flavor(flavor_id)
        except compute_exc.FlavorNotFound:
            raise exceptions.InvalidInput(
                f'flavor_id: no flavor {flavor_id} visible to project '
                f'{context.project_id}') from None
        except compute_exc.ComputeError as error:
            raise compute_exc.api_error(error, f'look up flavor {flavor_id}',
                                        field='flavor_id') from error
        if not flavor.is_public and not context.is_admin:
            # The service account sees private flavors of every project.
            raise exceptions.InvalidInput(
                f'flavor_id: no flavor {flavor_id} visible to project '
                f'{context.project_id}')
        specs = {k: v for k, v in flavor.extra_specs.items()
                 if k != nova_side.RESERVATION_SPEC}
        return {'vcpus': flavor.vcpus, 'memory_mb': flavor.ram,
                'disk_gb': flavor.disk + flavor.ephemeral, 'amount': amount,
                'affinity': None, 'resource_properties': '',
                'source_flavor_id': flavor.id, 'extra_specs': specs,
                'on_host_failure': on_host_failure, 'on_end': on_end}

    # In transactions -----------------------------------------------------------------
    def new_resource_id(self, values):
        return models.new_id()

    def reserve(self, context, resource_type, lease, reservation, values):
        reservation.resource_id = capacity_reservations.create(
            context, reservation.id, resource_type, values, reservation.resource_id)
        clauses = self._clauses(context, values)
        rooms, placement = self._place(context, values, clauses, lease.start_date,
                                       lease.end_date, quickly=True)
        capacity_search.claim_room(context, rooms, placement, size_of(values),
                                   lease.start_date, lease.end_date, clauses,
                                   self.ratios, self.cleaning_time)
        capacity_allocations.insert(context, reservation.id, placement,
                                    size_of(values), lease.start_date, lease.end_date)

    def _place(self, context, values, clauses, start, end, reservation_id=None,
               keep=None, prefer=(), quickly=False):
        """``(rooms, placement)`` for ``values`` (``clauses``: its requirements, see
        :meth:`_clauses`) in ``[start, end)``; ``quickly`` tries a few hosts first (a
        new reservation), then every host.

        :raises NotEnoughHostsAvailable: (409) it does not fit.
        """
        if quickly:
            rooms = capacity_search.find_room_quickly(
                context, start, end, size_of(values), values['amount'], clauses,
                self.ratios, self.cleaning_time)
            placement = capacity_search.place(rooms, values['amount'],
                                              values['affinity'])
            if placement is not None:
                return rooms, placement
        rooms = capacity_search.find_room(
            context, start, end, size_of(values), clauses,
            self.ratios, self.cleaning_time, exclude_reservation=reservation_id)
        placement = capacity_search.place(rooms, values['amount'], values['affinity'],
                                          keep=keep, prefer=prefer)
        if placement is None:
            how = {True: 'on one host', False: 'on distinct hosts', None: ''}[
                values['affinity']]
            raise exceptions.NotEnoughHostsAvailable(
                f'Not enough capacity available: {values["amount"]} instance(s) of '
                f'{values["vcpus"]} vCPU, {values["memory_mb"]} MB, '
                f'{values["disk_gb"]} GB {how} wanted from '
                f'{timeutils.format_date(start)} to {timeutils.format_date(end)}; '
                f'{sum(min(r.room, values["amount"]) for r in rooms)} fit on '
                f'{len(rooms)} host(s) with room'.replace('  ', ' '))
        return rooms, placement

    def _clauses(self, context, values):
        parsed = requirements.parse('resource_properties',
                                    values.get('resource_properties'))
        wanted = requirements.capability_names(parsed)
        unknown = wanted - host_db.known_properties(context, HOST_RESOURCE_TYPE, wanted)
        if unknown:
            raise exceptions.InvalidInput(
                f'Unknown host propert{"ies" if len(unknown) > 1 else "y"} '
                f'{", ".join(sorted(unknown))} in resource_properties: neither a host '
                f'field nor an extra capability of any host')
        return [host_search.requirement_clause(r, HOST_RESOURCE_TYPE,
                                               requirements.NUMERIC_FIELDS,
                                               requirements.TEXT_FIELDS)
                for r in parsed]

    def update(self, context, resource_type, lease, reservation, values, start_date,
               end_date):
        current = capacity_reservations.get(context, reservation.id)
        started = reservation.status != states.Reservation.PENDING
        wanted = request.parse_update(values or {}, current, started, resource_type,
                                      self.default_on_end)
        same_window = (start_date, end_date) == (lease.start_date, lease.end_date)
        fields = [f for f in request.VIRTUAL_FIELDS if f != 'on_end']
        if same_window and all(wanted[f] == current[f] for f in fields):
            if wanted['on_end'] != current['on_end']:
                capacity_reservations.store(context, reservation.id,
                                            {'on_end': wanted['on_end']})
            return
        held = capacity_allocations.placement_of(context, reservation.id)
        clauses = self._clauses(context, wanted)
        rooms, placement = self._place(
            context, wanted, clauses, start_date, end_date,
            reservation_id=reservation.id, keep=held if started else None, prefer=held)
        claimed = [r for r in rooms if r.host_id in placement]
        capacity_search.claim_room(context, rooms, placement, size_of(wanted),
                                   start_date, end_date, clauses, self.ratios,
                                   self.cleaning_time,
                                   exclude_reservation=reservation.id)
        capacity_allocations.replace(context, reservation.id, placement,
                                     size_of(wanted), start_date, end_date, claimed)
        capacity_reservations.store(context, reservation.id, wanted)

    def snapshot(self, context, reservation):
        return {'request': capacity_reservations.get(context, reservation.id),
                'slices': capacity_allocations.rows_of(context, reservation.id)}

    def restore(self, context, reservation, saved):
        capacity_allocations.put_back(context, reservation.id, saved['slices'],
                                      self.ratios, self.cleaning_time)
        capacity_reservations.store(context, reservation.id, saved['request'])

    # Nova ----------------------------------------------------------------------------
    def prepares_for(self, values):
        return self.nova.prepares(values)

    def prepare(self, context, lease, reservation, values=None):
        """The server group (with ``affinity``), recorded; all or nothing: what a
        failure half-way made is removed again (``release`` then finds nothing to
        undo). ``values``: the request (what ``validate`` returned, or the stored
        fields). The aggregate is made at the start."""
        if values is None:
            values = capacity_reservations.get(context, reservation['id'])
        if not self.nova.prepares(values):
            return
        try:
            group_id = self.nova.prepare(lease, reservation['id'], values)
        except compute_exc.ComputeError as error:
            raise compute_exc.api_error(error, 'create the reservation\'s server '
                                        'group') from error
        try:
            capacity_reservations.set_nova_ids(context, reservation['id'],
                                               server_group_id=group_id)
        except Exception:
            self.nova.undo_prepare(lease, reservation['id'], values, group_id)
            raise

    def _hosts(self, context, reservation_id):
        names = capacity_allocations.hosts_of(context, reservation_id)
        return {names[h]: count for h, count in
                capacity_allocations.placement_of(context, reservation_id).items()
                if names.get(h)}

    def _nodes(self, context, reservation_id):
        return capacity_allocations.nodes_of(context, reservation_id)

    def after_update(self, context, lease, reservation):
        if reservation['status'] == states.Reservation.ACTIVE:
            self.nova.hold_exactly(reservation['id'],
                                   self._hosts(context, reservation['id']),
                                   self._nodes(context, reservation['id']))

    def on_start(self, context, lease, reservation):
        values = capacity_reservations.get(context, reservation['id'])
        aggregate_id = self.nova.start(lease, reservation['id'], values,
                                       self._hosts(context, reservation['id']),
                                       self._nodes(context, reservation['id']))
        if values['aggregate_id'] != aggregate_id:
            capacity_reservations.set_nova_ids(context, reservation['id'],
                                               aggregate_id=aggregate_id)

    def on_end(self, context, lease, reservation):
        values = capacity_reservations.get(context, reservation['id'])
        if values['on_end'] == 'snapshot_and_delete':
            options = self.conf['virtual:instance']
            self.nova.snapshot_servers(
                lease, reservation['id'],
                lambda driver: servers.ServerSteps(driver, options))
        self.nova.end(lease, reservation['id'], values)
        capacity_allocations.release(context, reservation['id'])

    def release(self, context, lease, reservation):
        values = capacity_reservations.get(context, reservation['id'])
        if values is None:
            return
        try:
            self.nova.end(lease, reservation['id'], values)
        except compute_exc.ComputeError as error:
            raise compute_exc.api_error(error, 'remove the reservation\'s flavor and '
                                        'aggregate') from error

    # Usage policy ----------------------------------------------------------------------
    def usages(self, context, resource_type, project_id, start, end):
        """``{'vcpus', 'memory_mb', 'instances'}`` each reservation's slices hold."""
        return project_usage.capacity_held(context, project_id, start, end,
                                           resource_type)

    def hours_used(self, context, resource_type, project_id, start, end,
                   exclude_lease_id=None):
        return project_usage.capacity_hours(context, project_id, start, end,
                                            resource_type, exclude_lease_id)

    # Output --------------------------------------------------------------------------
    def created_details(self, reservation, values):
        # A new reservation has no healing records yet, nor Nova ids (the server
        # group, when there is one, is made after: the answer then reads them).
        return dict(view(reservation.id, capacity_reservations.created(
            reservation.resource_type, values)), healing=[])

    def details(self, context, reservation_ids):
        found = capacity_reservations.many(context, reservation_ids)
        records = host_health.records(context, list(found))
        return {reservation_id: dict(view(reservation_id, values),
                                     healing=records.get(reservation_id, []))
                for reservation_id, values in found.items()}


def view(reservation_id, values):
    """Blazar's fields of a capacity reservation (what clients and Heat read)."""
    shown = {'vcpus': values['vcpus'], 'memory_mb': values['memory_mb'],
             'disk_gb': values['disk_gb'], 'amount': values['amount'],
             'affinity': values['affinity'],
             'resource_properties': values['resource_properties'],
             'flavor_id': reservation_id, 'aggregate_id': values['aggregate_id'],
             'server_group_id': values['server_group_id'],
             'on_host_failure': values['on_host_failure'],
             'on_end': values['on_end']}
    if values['resource_type'] == FLAVOR_INSTANCE:
        shown['source_flavor_id'] = values['source_flavor_id']
    return shown


class FlavorInstancePlugin(base.ResourcePlugin):
    """``flavor:instance``: ``amount`` instances of an existing flavor."""

    resource_type = FLAVOR_INSTANCE
    uses_compute = True

    def __init__(self, conf, compute_driver=None):
        super().__init__(conf)
        self._compute = compute_driver
        self._core = None
        self._lock = threading.Lock()

    @property
    def core(self):
        if self._core is None:
            with self._lock:
                if self._core is None:
                    driver = self._compute or compute.get_driver(self.conf)
                    self._core = CapacityReservations(self.conf, driver,
                                                      FLAVOR_INSTANCE)
        return self._core

    def validate(self, context, values):
        values = {k: v for k, v in values.items() if k not in ('resource_type', 'id')}
        return self.core.validate_flavor(context, values)

    def new_resource_id(self, values):
        return self.core.new_resource_id(values)

    def reserve(self, context, lease, reservation, values):
        self.core.reserve(context, FLAVOR_INSTANCE, lease, reservation, values)

    def prepare(self, context, lease, reservation):
        self.core.prepare(context, lease, reservation, reservation.get('values'))

    def prepares_for(self, values):
        return self.core.prepares_for(values)

    def update(self, context, lease, reservation, values, start_date, end_date):
        self.core.update(context, FLAVOR_INSTANCE, lease, reservation, values,
                         start_date, end_date)

    def snapshot(self, context, reservation):
        return self.core.snapshot(context, reservation)

    def restore(self, context, reservation, saved):
        self.core.restore(context, reservation, saved)

    def after_update(self, context, lease, reservation):
        self.core.after_update(context, lease, reservation)

    def on_start(self, context, lease, reservation):
        self.core.on_start(context, lease, reservation)

    def on_end(self, context, lease, reservation):
        self.core.on_end(context, lease, reservation)

    def release(self, context, lease, reservation):
        self.core.release(context, lease, reservation)

    def details(self, context, reservations):
        return self.core.details(context, [r.id for r in reservations])

    def created_details(self, reservation, values):
        return self.core.created_details(reservation, values)

    def usages(self, context, project_id, start, end):
        return self.core.usages(context, FLAVOR_INSTANCE, project_id, start, end)

    def hours_used(self, context, project_id, start, end, exclude_lease_id=None):
        return self.core.hours_used(context, FLAVOR_INSTANCE, project_id, start, end,
                                    exclude_lease_id)

    # Host failures (the manager's host monitor) ------------------------------------
    healing_listener = None

    def check_hosts(self, context):
        return self.core.check_hosts(context)

    def apply_host_states(self, context, failures):
        return self.core.apply_host_states(context, failures)

    def heal(self, context, now=None):
        self.core.healing_listener = self.healing_listener
        return self.core.heal(context, now)

    @property
    def slice_mover(self):
        """What moves this plugin's slices off a host for ``physical:host``."""
        return self.core
