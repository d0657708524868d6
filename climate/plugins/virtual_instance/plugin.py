"""The ``virtual:instance`` resource plugin (entry point ``virtual.instance.plugin``).

Two modes, chosen by the request: with ``resource_id``, an existing server (below);
without it, Blazar's capacity mode (``vcpus``, ``memory_mb``, ``disk_gb``, ``amount``,
``affinity``, ``resource_properties``), which every method hands to
:class:`climate.plugins.instance_capacity.plugin.CapacityReservations` for the
reservations that have a capacity row.

How each call of the manager maps to Nova (see ``climate.plugins.base`` for the order):

``validate``   the request fields (``request``), then the server: it must exist, belong
               to the caller's project (admins may reserve any server) and be settled
               in a status it can be reserved in;
``reserve``    hold the server in the lease's transaction
               (``climate.db.instance_reservations``);
``prepare``    mark it RESERVED and, if the lease starts later than
               ``[virtual:instance] shelve_lead_time``, start shelving it;
``update``     ``on_end`` and ``before_end`` may change until the end; the window may
               move freely (the hold does not depend on it);
``after_update`` a pending lease moved further away shelves its running server;
``snapshot``/``restore``  ``on_end`` and ``before_end`` put back when the update is
               undone (the hold itself never changes in an update);
``on_start``   unshelve, wait until ACTIVE, mark ACTIVE;
``before_end`` with ``before_end: snapshot``, snapshot and wait until it is saved
               (if no before-end event ran, ``on_end`` takes that snapshot first,
               unless its own action is ``snapshot_and_delete``);
``on_end``     the ``on_end`` action, then free the server;
               snapshots are made with the lease's Keystone trust when it has one
               (the image then belongs to the user's project);
``release``    (lease deleted before it started) unshelve the server if Climate
               shelved it, remove the marks, free it.

A server that disappears (deleted by its owner) is not an error: the reservation gets
``missing_resources`` and the lease ``degraded``, and the lease ends normally.
A reservation whose start never succeeded is never destroyed at its end: the server is
handed back as it is (and unshelved if the lease is being deleted).

Failures of events propagate as ``climate.compute.exceptions`` errors, whose
``retryable`` flag the event engine reads; failures in calls made for an API request
become ``climate.exceptions`` errors with an HTTP code and a message naming the field.
"""

import datetime
import threading

from oslo_log import log as logging

from climate import compute
from climate import exceptions
from climate.common import states
from climate.common import timeutils
from climate.compute import exceptions as compute_exc
from climate.conf import virtual_instance as options
from climate.db import capacity_reservations
from climate.db import instance_reservations as instance_db
from climate.plugins import base
from climate.plugins.instance_capacity import plugin as capacity
from climate.plugins.instance_capacity import request as capacity_request
from climate.plugins.virtual_instance import request
from climate.plugins.virtual_instance import servers

LOG = logging.getLogger(__name__)
R = states.Reservation
L = states.Lease
E = states.Event


class VirtualInstancePlugin(base.ResourcePlugin):
    resource_type = 'virtual:instance'

    uses_compute = True
    acts_for_owner = True

    def __init__(self, conf, compute_driver=None):
        super().__init__(conf)
        options.register_opts(conf)
        self.compute = compute_driver if compute_driver is not None else \
            compute.get_driver(conf)
        self.steps = servers.ServerSteps(self.compute, self.options)
        # Snapshot image ids not yet written to the database, so that a retry in this
        # process never makes a second image: {(reservation_id, phase): image_id}.
        self._unrecorded_snapshots = {}
        self._lock = threading.Lock()
        self.capacity = capacity.CapacityReservations(conf, self.compute,
                                                      self.resource_type)

    @property
    def options(self):
        return self.conf[options.GROUP_NAME]

    def _is_capacity(self, context, reservation_id):
        return capacity_reservations.get(context, reservation_id) is not None

    # Requests ------------------------------------------------------------------------
    def validate(self, context, values):
        if request.is_capacity_mode(values):
            parsed = capacity_request.parse_virtual(
                {k: v for k, v in values.items() if k not in ('resource_type', 'id')},
                self.options.capacity_on_end)
            parsed['capacity'] = True
            return parsed
        parsed = request.parse_create(values, self.options.on_end)
        server_id = parsed['server_id']
        try:
            server = self.compute.get_server(server_id)
        except compute_exc.ServerNotFound:
            server = None
        except compute_exc.ComputeError as error:
            raise compute_exc.api_error(error, f'look up server {server_id}',
                                        field='resource_id') from error
        if server is None or (not context.is_admin and
                              server.project_id != context.project_id):
            raise exceptions.InvalidInput(
                f'resource_id: no server {server_id} in project {context.project_id}')
        if server.status not in servers.RESERVABLE or server.task_state is not None:
            doing = f' ({server.task_state})' if server.task_state else ''
            raise exceptions.Conflict(
                f'resource_id: server {server_id} is {server.status}{doing}; it can be '
                f'reserved when it is one of {", ".join(servers.RESERVABLE)} with no '
                f'task in progress')
        parsed['status'] = server.status
        return parsed

    def new_resource_id(self, values):
        if values.get('capacity'):
            return self.capacity.new_resource_id(values)
        return values['server_id']

    def reserve(self, context, lease, reservation, values):
        if values.get('capacity'):
            self.capacity.reserve(context, self.resource_type, lease, reservation,
                                  values)
            return
        state = {'before_end': values['before_end'], 'status': values['status'],
                 'shelve': self._starts_later(lease.start_date)}
        instance_db.hold(context, reservation.id, values['server_id'],
                         values['on_end'], state)

    def prepares_for(self, values):
        """A held server is marked (and maybe shelved) at create; a capacity
        reservation makes its server group then, if it has ``affinity``."""
        return not values.get('capacity') or self.capacity.prepares_for(values)

    def prepare(self, context, lease, reservation):
        values = reservation.get('values')
        if values is None:
            values = capacity_reservations.get(context, reservation['id'])
        elif not values.get('capacity'):
            values = None
        if values is not None:
            self.capacity.prepare(context, lease, reservation, values)
            return
        record = instance_db.get(context, reservation['id'])
        if record is None or not record.held:
            return
        try:
            self.steps.hold(record.server_id, lease['id'], record.state.get('shelve'))
        except compute_exc.ComputeError as error:
            self._undo_hold(record)
            if isinstance(error, compute_exc.ServerNotFound):
                raise exceptions.InvalidInput(
                    f'resource_id: server {record.server_id} no longer exists') from error
            raise compute_exc.api_error(error, f'shelve server {record.server_id}',
                                        field='resource_id') from error

    def _undo_hold(self, record):
        try:
            self.steps.hand_back(record.server_id, unshelve=_shelved_by_climate(record))
        except compute_exc.ServerNotFound:
            pass
        except Exception:
            LOG.exception('Could not hand server %s back after a failed reservation',
                          record.server_id)

    def update(self, context, lease, reservation, values, start_date, end_date):
        if self._is_capacity(context, reservation.id):
            self.capacity.update(context, self.resource_type, lease, reservation,
                                 values, start_date, end_date)
            return
        record = instance_db.get(context, reservation.id)
        if record is None:
            return
        changes = request.parse_update(values, record.server_id)
        state = {'before_end': changes['before_end']} if 'before_end' in changes else {}
        if changes:
            instance_db.change(context, reservation.id, on_end=changes.get('on_end'),
                               **state)

    def snapshot(self, context, reservation):
        if self._is_capacity(context, reservation.id):
            return {'capacity': self.capacity.snapshot(context, reservation)}
        record = instance_db.get(context, reservation.id)
        if record is None:
            return None
        return {'on_end': record.on_end, 'before_end': record.state.get('before_end')}

    def restore(self, context, reservation, saved):
        if saved is not None and 'capacity' in saved:
            self.capacity.restore(context, reservation, saved['capacity'])
            return
        if saved is not None:
            instance_db.change(context, reservation.id, on_end=saved['on_end'],
                               before_end=saved['before_end'])

    def after_update(self, context, lease, reservation):
        """Shelve the running server of a pending lease that now starts later."""
        if self._is_capacity(context, reservation['id']):
            self.capacity.after_update(context, lease, reservation)
            return
        if reservation['status'] != R.PENDING:
            return
        record = instance_db.get(context, reservation['id'])
        if record is None or not record.held or record.state.get('shelve') or \
                not self._starts_later(lease['start_date']):
            return
        record = instance_db.update_state(context, reservation['id'], shelve=True)
        try:
            self.steps.hold(record.server_id, lease['id'], shelve=True)
        except compute_exc.ComputeError as error:
            LOG.warning('Could not shelve server %s of lease %s after its start moved '
                        '(it stays running until the start): %s', record.server_id,
                        lease['id'], error)

    # Events --------------------------------------------------------------------------
    def on_start(self, context, lease, reservation):
        if self._is_capacity(context, reservation['id']):
            self.capacity.on_start(context, lease, reservation)
            return
        record = instance_db.get(context, reservation['id'])
        if record is None or not record.held:
            return
        try:
            self.steps.start(record.server_id, lease['id'])
        except compute_exc.ServerNotFound:
            self._missing(context, lease, record)

    def before_end(self, context, lease, reservation):
        record = instance_db.get(context, reservation['id'])
        if record is None or not record.held or record.before_end != 'snapshot':
            return
        try:
            server = self.compute.get_server(record.server_id)
            self._snapshot(context, lease, record, server, 'before_end')
        except compute_exc.ServerNotFound:
            self._missing(context, lease, record)

    def on_end(self, context, lease, reservation):
        if self._is_capacity(context, reservation['id']):
            self.capacity.on_end(context, lease, reservation)
            return
        record = instance_db.get(context, reservation['id'])
        if record is None or not record.held:
            return  # finished earlier (an attempt whose outcome was not recorded)
        if lease['events'].get(E.START_LEASE) != E.DONE:
            # The server never became the lease's: hand it back, never destroy it.
            self._hand_back(context, record, unshelve=lease['status'] == L.DELETING)
            return
        self._end_action(context, lease, record)
        instance_db.free(context, record.reservation_id, record.server_id)

    def _end_action(self, context, lease, record):
        server_id = record.server_id
        deleting = bool(record.state.get('deleting'))
        try:
            if not deleting:
                server = self.compute.get_server(server_id)
                if record.before_end == 'snapshot' and \
                        'before_end' not in record.snapshots and \
                        record.on_end != 'snapshot_and_delete':
                    # Asked for, but no before-end event ran (none was scheduled, or
                    # the lease was not active then): the snapshot is not skipped.
                    self._snapshot(context, lease, record, server, 'before_end')
                if record.on_end in ('none', 'shelve'):
                    self.steps.mark(server_id, lease['id'], servers.ENDED)
                    if record.on_end == 'shelve':
                        self.steps.shelve(server_id)
                    return
                if record.on_end == 'snapshot_and_delete':
                    self._snapshot(context, lease, record, server, 'on_end')
                instance_db.update_state(context, record.reservation_id, deleting=True)
                deleting = True
            self.steps.delete(server_id)
        except compute_exc.ServerNotFound:
            if not deleting:
                self._missing(context, lease, record)

    def release(self, context, lease, reservation):
        if self._is_capacity(context, reservation['id']):
            self.capacity.release(context, lease, reservation)
            return
        record = instance_db.get(context, reservation['id'])
        if record is None or not record.held:
            return
        try:
            self._hand_back(context, record, unshelve=True)
        except compute_exc.ComputeError as error:
            raise compute_exc.api_error(error, f'give server {record.server_id} back',
                                        field='resource_id') from error

    def _hand_back(self, context, record, unshelve):
        try:
            self.steps.hand_back(record.server_id,
                                 unshelve=unshelve and _shelved_by_climate(record))
        except compute_exc.ServerNotFound:
            pass
        instance_db.free(context, record.reservation_id, record.server_id)

    # Output --------------------------------------------------------------------------
    def created_details(self, reservation, values):
        """A capacity reservation's fields from its request; a held server's are
        read (None)."""
        if values.get('capacity'):
            return self.capacity.created_details(reservation, values)
        return None

    def details(self, context, reservations):
        # Capacity first: a lease of capacity reservations alone (Blazar's mode, the
        # common one) then needs no look at held servers.
        shown = self.capacity.details(context, [r.id for r in reservations])
        found = instance_db.many(context, [r.id for r in reservations
                                           if r.id not in shown])
        shown.update({reservation_id: {'on_end': record.on_end,
                                       'before_end': record.before_end,
                                       'snapshots': record.snapshots}
                      for reservation_id, record in found.items()})
        return shown

    # Usage policy --------------------------------------------------------------------
    # Only capacity reservations count: a held existing server is already counted by
    # Nova's own quotas and takes no new capacity.
    def usages(self, context, project_id, start, end):
        return self.capacity.usages(context, self.resource_type, project_id, start, end)

    def hours_used(self, context, project_id, start, end, exclude_lease_id=None):
        return self.capacity.hours_used(context, self.resource_type, project_id, start,
                                        end, exclude_lease_id)

    # Host failures of capacity reservations (the manager's host monitor) ----------
    healing_listener = None

    def check_hosts(self, context):
        return self.capacity.check_hosts(context)

    def apply_host_states(self, context, failures):
        return self.capacity.apply_host_states(context, failures)

    def heal(self, context, now=None):
        self.capacity.healing_listener = self.healing_listener
        return self.capacity.heal(context, now)

    @property
    def slice_mover(self):
        """What moves this plugin's capacity slices off a host for ``physical:host``."""
        return self.capacity

    # Helpers -------------------------------------------------------------------------
    def _starts_later(self, start_date):
        lead = datetime.timedelta(seconds=self.options.shelve_lead_time)
        return timeutils.ensure_utc(start_date) - timeutils.utcnow() > lead

    def _snapshot(self, context, lease, record, server, phase):
        """Snapshot the server once per reservation and phase; wait until it is saved."""
        key = (record.reservation_id, phase)
        with self._lock:
            unrecorded = self._unrecorded_snapshots.get(key)
        image_id = unrecorded or record.snapshots.get(phase)
        if image_id is None or not self.steps.image_usable(image_id):
            image_id = unrecorded = self._create_snapshot(
                lease, server, {'climate_lease_id': lease['id'],
                                'climate_reservation_id': record.reservation_id,
                                'climate_phase': phase})
            with self._lock:
                self._unrecorded_snapshots[key] = image_id
            LOG.info('Snapshot %s of server %s (%s of lease %s) started', image_id,
                     server.id, phase, lease['id'])
        if unrecorded:
            instance_db.set_snapshot(context, record.reservation_id, phase, image_id)
            with self._lock:
                self._unrecorded_snapshots.pop(key, None)
        self.steps.wait_for_snapshot(image_id, server.id)
        return image_id

    def _create_snapshot(self, lease, server, metadata):
        """Start the snapshot as the lease's owner (through its trust), so that the
        image is theirs; with the service account if there is no usable trust (Nova
        then shares the image with the server's project)."""
        name = self.options.snapshot_prefix + server.name
        trust_id = lease.get('trust_id')
        if trust_id:
            try:
                return servers.ServerSteps(self.compute.acting_for(trust_id),
                                           self.options).create_snapshot(
                    server.id, name, metadata)
            except compute_exc.ComputeError as error:
                if error.status_code not in (401, 403):
                    raise
                LOG.warning('The trust of lease %s no longer works (%s); snapshotting '
                            'server %s with Climate\'s own account', lease['id'],
                            error.message, server.id)
        return self.steps.create_snapshot(server.id, name, metadata)

    def _missing(self, context, lease, record):
        LOG.warning('Server %s of lease %s is gone (deleted by its owner?); the lease '
                    'goes on without it', record.server_id, lease['id'])
        instance_db.mark_missing(context, lease['id'], record.reservation_id)


def _shelved_by_climate(record):
    """Whether the reservation meant to shelve a server that was not shelved before."""
    return bool(record.state.get('shelve')) and \
        record.state.get('status') not in servers.SHELVED
