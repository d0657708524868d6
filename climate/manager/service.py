"""The lease service: create, update and delete leases, and run their events.

This module holds the orchestration only. A request is parsed and checked by
:mod:`climate.manager.lease_request`, trusts are made and revoked by
:mod:`climate.manager.trusts`, and a transaction whose claim lost a race is retried by
:mod:`climate.db.retry`.

Database work happens in short transactions; each plugin's capacity claim runs inside
the lease's own transaction, retried against fresh data when a concurrent request won
the same capacity. Side effects outside the database (``prepare``, ``after_update``,
events) happen after commit. A failed create is rolled back; a failed update or delete
leaves the lease as it was, in the status it had (an update whose Nova side failed
restores its rows and makes Nova follow them back); a failed event is retried, and
only an event that failed for good makes the lease ERROR.
"""

import collections
import contextlib
import datetime
import threading
import time

from oslo_db import exception as db_exc
from oslo_log import log as logging
import sqlalchemy as sa

from climate import exceptions
from climate import rpc
from climate.common import idempotency as idempotency_keys
from climate.common import limits
from climate.common import states
from climate.common import timeutils
from climate.compute import exceptions as compute_exc
from climate.db import api as db_api
from climate.db import idempotency
from climate.db import leases as lease_db
from climate.db import models
from climate.db import retry
from climate.manager import earliest
from climate.manager import lease_request
from climate.manager import page_json
from climate.manager import trusts
from climate.manager import views
from climate.manager.enforcement import policy as usage_policy
from climate.plugins import base as plugin_base

LOG = logging.getLogger(__name__)
L = states.Lease
R = states.Reservation
E = states.Event

# Seconds a retry waits for the request that holds its idempotency key to finish
# creating the lease, and between two looks.
IN_FLIGHT_WAIT = 10
IN_FLIGHT_POLL = 0.2
# Listing pages built at once in this process. Each holds its rows, views and text
# (~10 MB for 1,000 leases) until it is sent; 16 built at once left the manager ~100 MB
# larger than before, for good (benchmarks/listing.py). Building is CPU-bound under
# the GIL except for its database waits, which 4 at once still overlap: 16 concurrent
# full listings took about as long as unbounded (6.7-7.6 s against 5.4-6.1 s on a
# loaded machine) and memory came back within 20%; with 2 they took 14-21 s.
LISTING_SLOTS = 4
# Deletes and updates of leases in the middle of another change (starting, say) that
# wait at once in this process for it to finish; more answer 409 at once, so that a
# lease stuck STARTING cannot tie up every RPC worker.
SETTLE_WAITERS = 8

#: The rows a create wrote (transient ORM objects, as inserted) and the values each
#: reservation was reserved with: what the create's answer is built from.
_Created = collections.namedtuple('_Created', 'lease reservations events values')

#: The window ``get_usage`` reports on when the caller gives no end.
USAGE_WINDOW = datetime.timedelta(days=30)


class LeaseService:

    def __init__(self, conf, plugins, notifier, wake=None):
        self.conf = conf
        self.plugins = plugins
        self.notifier = notifier
        self._wake = wake or (lambda: None)
        self.trusts = trusts.Trusts(plugins)
        self._listing_slots = threading.BoundedSemaphore(LISTING_SLOTS)
        self._settle_waiters = threading.BoundedSemaphore(SETTLE_WAITERS)
        self.policy = usage_policy.UsagePolicy(conf, plugins)
        # physical:host moves the capacity slices of a host with its allocations.
        movers = [p for p in plugins.values()
                  if getattr(type(p), 'slice_mover', None) is not None]
        for plugin in plugins.values():
            if hasattr(plugin, 'slice_movers'):
                plugin.slice_movers = movers

    def set_waker(self, wake):
        self._wake = wake

    # Reads -------------------------------------------------------------------------
    def get_lease(self, context, lease_id):
        with db_api.reader.using(context):
            return self._view(context, lease_db.get(context, lease_id))

    def list_leases(self, context, **filters):
        query = lease_request.parse_list_query(filters)
        with db_api.reader.using(context), _marker_of(query):
            listed = lease_db.list_leases(context, **query)
            return views.page(context, listed, self.plugins)

    def list_leases_page(self, context, compressed=False, **filters):
        """A page of :meth:`list_leases` as the JSON text of its list (``leases``),
        with its size and last id (for the API's ``next`` link); with
        ``compressed``, the text's UTF-8 bytes travel packed by ``climate.rpc.pack``
        as ``leases_packed``, with their length (``size``), instead. At most
        :data:`LISTING_SLOTS` built at once."""
        query = lease_request.parse_list_query(filters)
        with self._listing_slots:
            pieces, count, last_id = self._page_pieces(context, query)
            if compressed:
                packed, size = rpc.pack_pieces(pieces)
                return {'leases_packed': packed, 'size': size, 'count': count,
                        'last_id': last_id}
            return {'leases': ''.join(pieces), 'count': count, 'last_id': last_id}

    def _page_pieces(self, context, query):
        """``(pieces of the JSON text, count, last id)`` of a page, built straight
        from its rows (:mod:`climate.manager.page_json`): compressed piece by piece,
        the page is never held whole."""
        with db_api.reader.using(context), _marker_of(query):
            rows = lease_db.list_page_rows(context, **query)
            return page_json.build_pieces(context, rows, self.plugins)

    def _view(self, context, lease):
        return self._views(context, [lease])[0]

    def _views(self, context, leases):
        return views.leases(context, leases, self.plugins)

    # Create ------------------------------------------------------------------------
    def create_lease(self, context, values, idempotency_key=None):
        """Create a lease. With ``idempotency_key``, a retry of the same request
        (same project, key and values, within ``[api] idempotency_ttl``) gets the
        lease the first one made; see :meth:`_replay` for the other answers."""
        if idempotency_key is None:
            return self._create(context, values, None)
        key = idempotency_keys.check(idempotency_key)
        digest = idempotency_keys.fingerprint(values)
        project_id = values.get('project_id') or context.project_id
        # Twice at most: a concurrent request holding the key may roll back its lease
        # (then this one makes it) or commit it (then this one replays it).
        for _attempt in range(2):
            replay = self._replay(context, project_id, key, digest)
            if replay is not None:
                return replay
            try:
                return self._create(context, values, (key, digest))
            except _KeyTaken:
                continue
        raise exceptions.Conflict(
            reason='a request with this Idempotency-Key is in progress; try again')

    def _create(self, context, values, idempotent):
        request = lease_request.parse_create(
            context, values, self._plugin, self.conf.manager.minutes_before_end_lease)
        if idempotent is not None:
            self._purge_keys(context, request.project_id, idempotent[0])
        if request.earliest is None:
            # An earliest-fit request is checked once its window is placed.
            self.policy.check_create(context, request, values)
        trust_id = self.trusts.create(context, request.resource_types)
        # Without side effects to prepare, the lease is PENDING from its insert on: no
        # CREATING row for recovery to roll back, one read and one commit fewer.
        prepares = any(plugin_base.prepares(self._plugin(wanted.resource_type),
                                            wanted.values)
                       for wanted in request.reservations)
        status = L.CREATING if prepares else L.PENDING
        try:
            lease, created = retry.with_claim_retries(
                lambda: self._insert_lease(context, request, trust_id, idempotent,
                                           status, values),
                self.conf.manager.claim_retries)
        except Exception:
            self.trusts.revoke(trust_id)
            raise
        if prepares:
            view = self._prepare(context, lease, created)
            start_date = lease['start_date']
        else:
            view = self._created_view(context, created)
            # An earliest-window request is placed inside the insert: wake to be safe.
            start_date = request.start if request.earliest is None else None
        self.notifier.notify(context, 'lease.create', view)
        self._wake_unless_polled_before(start_date)
        return view

    def _prepare(self, context, lease, created):
        """Run the plugins' ``prepare`` of a CREATING lease (``lease`` as the insert
        wrote it, ``created`` its rows), then make it PENDING and build its view in
        one transaction; roll the create back if any of it fails. Returns the
        view."""
        prepared = []
        try:
            for reservation in lease['reservations']:
                self._plugin(reservation['resource_type']).prepare(context, lease,
                                                                   reservation)
                prepared.append(reservation)
            return retry.on_deadlock(self._settle_created)(context, created)
        except Exception:
            LOG.exception('Preparing lease %s failed; rolling it back', lease['id'])
            self._release(context, lease, prepared)
            self._discard_created(context, lease['id'])
            self.trusts.revoke(lease['trust_id'])
            raise

    def _settle_created(self, context, created):
        """Make a prepared lease PENDING; its view, the fields of the plugins that
        prepared read again (``prepare`` records what it made)."""
        lease = created.lease
        now = timeutils.utcnow()
        with db_api.writer.using(context):
            lease_db.set_status(context, lease.id, L.PENDING, expected=[L.CREATING],
                                at=now)
            lease.status, lease.status_reason, lease.updated_at = L.PENDING, None, now
            return self._created_view(context, created, read=True)

    def _wake_unless_polled_before(self, first_event):
        """Wake the event engines (a fan-out to every manager, each then querying its
        next events), unless every engine will look again before ``first_event``
        anyway: none sleeps longer than ``[manager] max_poll_interval``, and the event
        is committed, so the next look finds it. Most leases start later than that."""
        horizon = datetime.timedelta(seconds=self.conf.manager.max_poll_interval + 1)
        if first_event is None or first_event - timeutils.utcnow() <= horizon:
            self._wake()

    def _purge_keys(self, context, project_id, key):
        try:
            idempotency.purge(context, project_id, key, self.conf.api.idempotency_ttl)
        except db_exc.DBError:
            # Only housekeeping: a later create purges them.
            LOG.debug('Purging expired idempotency keys failed', exc_info=True)

    def _replay(self, context, project_id, key, digest):
        """The lease an earlier request with ``key`` made, or None when the key is
        free (never used, expired, or its lease was rolled back).

        A different request under the same key is a 409, and so is a key whose
        lease was deleted since (a late retry must not make it again). While the
        first request is still creating its lease, wait up to
        :data:`IN_FLIGHT_WAIT` seconds for it to finish, then 409.
        """
        deadline = time.monotonic() + IN_FLIGHT_WAIT
        while True:
            with db_api.reader.using(context):
                row = idempotency.find(context, project_id, key,
                                       self.conf.api.idempotency_ttl)
                if row is None:
                    return None
                if row.fingerprint != digest:
                    raise exceptions.Conflict(
                        reason='this Idempotency-Key was already used for a '
                               'different request')
                try:
                    lease = lease_db.get(context, row.lease_id)
                except exceptions.LeaseNotFound:
                    raise exceptions.Conflict(
                        reason=f'the lease {row.lease_id} made with this '
                               'Idempotency-Key has been deleted') from None
                if lease.status != L.CREATING:
                    return self._view(context, lease)
            if time.monotonic() >= deadline:
                raise exceptions.Conflict(
                    reason='a request with this Idempotency-Key is in progress; '
                           'try again')
            time.sleep(IN_FLIGHT_POLL)

    def _insert_lease(self, context, request, trust_id, idempotent=None,
                      status=L.CREATING, values=None):
        """Insert the lease and claim its capacity in one transaction: ``(the lease
        as plugins see it, the rows written)``; the create's answer is built from
        those rows (:meth:`_created_view`), not read back."""
        with db_api.writer.using(context):
            if request.earliest is not None:
                request = earliest.place(context, request, self._plugin)
                # The rules see the window the lease gets (its lead time, say),
                # not the search range. Only reads have run in this transaction.
                self.policy.check_create(context, request, values or {})
            lease_id = models.new_id()
            if idempotent is not None:
                # First, so that a concurrent request with the same key waits on the
                # unique index here and fails before it claims any capacity.
                try:
                    idempotency.add(context, request.project_id, idempotent[0],
                                    idempotent[1], lease_id)
                except db_exc.DBDuplicateEntry:
                    raise _KeyTaken() from None
            self.policy.lock(context, request.project_id)
            # The rows are built whole and inserted with Core statements: the ORM's
            # unit of work cost a third of a create's CPU. Plugins get them as ORM
            # objects still (not in the session); what they set on them is written.
            lease = models.Lease(
                id=lease_id, name=request.name, project_id=request.project_id,
                user_id=request.user_id, trust_id=trust_id,
                start_date=request.start, end_date=request.end,
                status=status, status_reason=None, degraded=False,
                created_at=timeutils.utcnow(), updated_at=None)
            lease_inserted, = lease_db.insert_new(context, [lease])
            reservations, events = [], []
            for wanted in request.reservations:
                plugin = self._plugin(wanted.resource_type)
                reservation = models.Reservation(
                    id=models.new_id(), lease_id=lease.id,
                    resource_type=wanted.resource_type,
                    resource_id=plugin_base.new_resource_id(plugin, wanted.values),
                    status=R.PENDING, missing_resources=False, resources_changed=False,
                    created_at=timeutils.utcnow(), updated_at=None)
                reservations.append(reservation)
                inserted, = lease_db.insert_new(context, [reservation])
                try:
                    plugin.reserve(context, lease, reservation, wanted.values)
                except exceptions.NotEnoughHostsAvailable:
                    if request.earliest is None:
                        raise
                    # The window was free when searched in this transaction and a
                    # concurrent create took it since (READ COMMITTED): search again.
                    raise exceptions.ClaimConflict(what='the earliest window') from None
                lease_db.write_changes(context, reservation, inserted)
            lease_db.write_changes(context, lease, lease_inserted)
            created_at = timeutils.utcnow()
            for event_type, when in ((E.START_LEASE, lease.start_date),
                                     (E.BEFORE_END_LEASE, request.before_end),
                                     (E.END_LEASE, lease.end_date)):
                if when is not None:
                    events.append(models.Event(
                        id=models.new_id(), lease_id=lease.id, event_type=event_type,
                        time=when, due_at=when, status=E.UNDONE, owner=None,
                        claimed_at=None, attempts=0, error=None, created_at=created_at,
                        updated_at=None))
            lease_db.insert_new(context, events)
            self.policy.check_claim(context, lease)
            plain = lease_db.as_plain(lease, reservations, events)
            for reservation, wanted in zip(plain['reservations'], request.reservations):
                reservation['values'] = wanted.values    # for the plugins' prepare
            return plain, _Created(lease, reservations, events,
                                   [wanted.values for wanted in request.reservations])

    def _created_view(self, context, created, read=False):
        """The view of a lease from the rows its create wrote (``created``): each
        plugin's fields from what it reserved (``created_details``), or read (in
        the caller's transaction if there is one) when it cannot say them or, with
        ``read``, when it has prepared the reservation since."""
        details, unknown = {}, {}
        for reservation, values in zip(created.reservations, created.values):
            plugin = self._plugin(reservation.resource_type)
            shown = None
            if not (read and plugin_base.prepares(plugin)):
                shown = plugin_base.created_details(plugin, reservation, values)
            if shown is None:
                unknown.setdefault(reservation.resource_type, []).append(reservation)
            else:
                details[reservation.id] = shown
        if unknown:
            with db_api.reader.using(context):
                for resource_type, typed in unknown.items():
                    details.update(self._plugin(resource_type).details(context, typed))
        # A read orders them so (the relationships' order_by); a sort is stable.
        reservations = sorted(created.reservations, key=lambda r: r.created_at)
        events = sorted(created.events, key=lambda e: e.time)
        return views.created(created.lease, reservations, events, details)

    def _discard_created(self, context, lease_id):
        """Delete the rows of a create that is rolled back, its idempotency key
        with them (in one transaction): a retry may then make the lease."""
        with db_api.writer.using(context):
            idempotency.forget(context, lease_id)
            self._delete_rows(context, lease_id)

    # Ask before you book ----------------------------------------------------------
    def check_lease(self, context, values):
        """Whether ``create_lease(values)`` would be accepted now, creating nothing.

        Runs what a create runs (parsing, usage policy, the plugins' claims and the
        quotas) in a transaction that is then rolled back. A refusal (403, 409) is
        the answer ``{"accepted": false, ...}``; a malformed request stays a 400.
        """
        request = lease_request.parse_create(
            context, values, self._plugin, self.conf.manager.minutes_before_end_lease)
        try:
            if request.earliest is None:
                self.policy.check_create(context, request, values)
            retry.with_claim_retries(
                lambda: self._insert_and_roll_back(context, request, values),
                self.conf.manager.claim_retries)
        except exceptions.ClimateException as exc:
            if exc.code not in (403, 409):
                raise
            return {'accepted': False, 'error_code': exc.code,
                    'error_message': exc.message, 'rule': exc.kwargs.get('rule'),
                    'details': exc.kwargs.get('details')}
        return {'accepted': True}

    def _insert_and_roll_back(self, context, request, values):
        try:
            with db_api.writer.using(context):
                self._insert_lease(context, request, None, values=values)
                raise _DryRun()
        except _DryRun:
            pass

    def get_usage(self, context, project_id, start=None, end=None):
        """``project_id``'s usage and limits over ``[start, end)`` (dates as text;
        by default from now, for :data:`USAGE_WINDOW`)."""
        start = lease_request.parse_date('start', start or 'now')
        end = lease_request.parse_date('end', end) if end else start + USAGE_WINDOW
        if end <= start:
            raise exceptions.InvalidInput('End date must be later than start date.')
        with db_api.reader.using(context):
            return self.policy.usage(context, project_id, start, end)

    # Update ------------------------------------------------------------------------
    def update_lease(self, context, lease_id, values):
        """Apply an update whole, or leave the lease exactly as it was and raise.

        A failure inside the update transaction rolls it back. A failure of a
        plugin's ``after_update`` (Nova, after commit) restores the rows the
        transaction changed and runs ``after_update`` again so that Nova follows
        them back. Either way the lease returns to the status it had: a refused or
        failed change never makes it ERROR.
        """
        lease = self._plain_lease(context, lease_id)
        change = lease_request.parse_change(lease, values)
        if change.is_empty:
            return self.get_lease(context, lease_id)
        if change.renames_only:
            return self._rename(context, lease, change.name)
        if lease['status'] not in L.STABLE:
            lease = self._settled_lease(context, lease_id)
            change = lease_request.parse_change(lease, values)
        previous = lease['status']
        if previous not in L.STABLE:
            raise exceptions.InvalidStatus(
                f'Lease {lease_id} is {previous}; try again when it is not')
        self.policy.check_update(context, lease, change,
                                 lambda: self.get_lease(context, lease_id))
        as_before = lease_db.stamp(context, lease_id)
        lease_db.set_status(context, lease_id, L.UPDATING, expected=[previous])
        saved = {}
        try:
            rearmed = retry.with_claim_retries(
                lambda: self._apply_update(context, lease, change, saved),
                self.conf.manager.claim_retries)
        except Exception as exc:
            LOG.info('Update of lease %s turned down: %s', lease_id, exc)
            lease_db.set_status(context, lease_id, previous, expected=[L.UPDATING],
                                as_before=as_before)
            raise _answer(exc, lease_id, 'updated') from exc
        try:
            self._after_update(context, lease_id)
        except Exception as exc:
            LOG.exception('Applying the update of lease %s failed; undoing it', lease_id)
            if not self._undo_update(context, lease_id, previous, saved, as_before):
                raise _answer(exc, lease_id, 'updated') from exc
        else:
            lease_db.set_status(context, lease_id,
                                self._settled_status(context, lease_id),
                                expected=[L.UPDATING])
        view = self.get_lease(context, lease_id)
        self.notifier.notify(context, 'lease.update', view)
        if rearmed:
            # Blazar's consumers learn that the before-end event they saw will run again.
            self.notifier.notify(context, 'lease.event.before_end_lease.stop', view)
        self._wake()
        return view

    def _rename(self, context, lease, name):
        if lease['status'] == L.DELETING:
            raise exceptions.InvalidStatus()
        with db_api.writer.using(context):
            lease_db.get(context, lease['id']).name = name
        view = self.get_lease(context, lease['id'])
        self.notifier.notify(context, 'lease.update', view)
        return view

    def _apply_update(self, context, lease, change, saved):
        """The update transaction. ``saved`` receives what :meth:`_restore_rows`
        needs to undo it (rewritten by each attempt; the committed one's stays)."""
        with db_api.writer.using(context):
            self.policy.lock(context, lease['project_id'])
            row = lease_db.get(context, lease['id'])
            saved.clear()
            saved.update(
                name=row.name, start_date=row.start_date, end_date=row.end_date,
                events={e.id: (e.time, e.due_at, e.status, e.updated_at)
                        for e in row.events},
                plugins={})
            for reservation in row.reservations:
                if reservation.status == R.DELETED:
                    continue
                plugin = self._plugin(reservation.resource_type)
                saved['plugins'][reservation.id] = plugin.snapshot(context, reservation)
                plugin.update(
                    context, row, reservation, change.reservations.get(reservation.id, {}),
                    change.start, change.end)
            rearmed = self._move_events(row, change)
            if change.name is not None:
                row.name = change.name
            row.start_date, row.end_date = change.start, change.end
            self.policy.check_claim(context, row, current=lease)
        return rearmed

    def _move_events(self, row, change):
        """Move the lease's pending events to the new window; True when a before-end
        event that had run is due again."""
        events = {e.event_type: e for e in row.events}
        now = timeutils.utcnow()
        for event_type, when in ((E.START_LEASE, change.start), (E.END_LEASE, change.end)):
            event = events.get(event_type)
            if event is not None and event.status == E.UNDONE:
                event.time = event.due_at = when
        before = events.get(E.BEFORE_END_LEASE)
        if before is None:
            return False
        if change.before_end is not None:
            when = change.before_end
        else:  # keep its distance to the end
            when = max(change.end - (row.end_date - before.time), change.start)
        before.time = before.due_at = when
        if before.status == E.DONE and when > now:
            states.check('event', before.id, before.status, E.UNDONE)
            before.status = E.UNDONE
            return True
        return False

    def _after_update(self, context, lease_id):
        """Run every plugin's ``after_update`` on the lease as stored; raises the
        first failure (the lease stays UPDATING: the caller decides)."""
        lease = self._plain_lease(context, lease_id)
        for reservation in lease['reservations']:
            if reservation['status'] != R.DELETED:
                self._plugin(reservation['resource_type']).after_update(
                    context, lease, reservation)

    def _settled_status(self, context, lease_id):
        events = self._plain_lease(context, lease_id)['events']
        return states.derive_lease_status(events.get(E.START_LEASE, E.UNDONE),
                                          events.get(E.END_LEASE, E.UNDONE))

    def _undo_update(self, context, lease_id, previous, saved, as_before=None):
        """Put back the rows an update committed, make Nova follow them, and return
        the lease to ``previous``. True when the update stayed applied after all
        (its rows could not be put back) and Nova now follows it: a success.

        The lease stays UPDATING meanwhile, which holds its events back, so the
        events' rows are still as the update left them. When Nova fails again, the
        rows are restored all the same and the lease goes back to ``previous``:
        Nova catches up at the lease's next update or event (each plugin's actions
        make Nova follow the database). Only when the capacity the update gave up
        has been taken by another lease meanwhile (so it cannot be claimed back)
        does the update stay applied, settled as an applied update is (and answered
        as one when Nova then followed it).
        """
        try:
            retry.with_claim_retries(lambda: self._restore_rows(context, lease_id, saved),
                                     self.conf.manager.claim_retries)
        except Exception:
            LOG.exception('Lease %s cannot be put back as it was before its update; '
                          'the update stays applied', lease_id)
            restored, status = False, self._settled_status(context, lease_id)
        else:
            restored, status = True, previous
        try:
            self._after_update(context, lease_id)
            converged = True
        except Exception as exc:
            LOG.warning('Nova could not be brought back in line with lease %s yet; '
                        'its next update or event does it: %s', lease_id, exc)
            converged = False
        lease_db.set_status(context, lease_id, status, expected=[L.UPDATING],
                            as_before=as_before if restored else None)
        return not restored and converged

    def _restore_rows(self, context, lease_id, saved):
        with db_api.writer.using(context):
            row = lease_db.get(context, lease_id)
            for reservation in row.reservations:
                if reservation.id in saved['plugins']:
                    self._plugin(reservation.resource_type).restore(
                        context, reservation, saved['plugins'][reservation.id])
            for event in row.events:
                if event.id in saved['events']:
                    (event.time, event.due_at, event.status,
                     event.updated_at) = saved['events'][event.id]
            row.name = saved['name']
            row.start_date, row.end_date = saved['start_date'], saved['end_date']

    # Delete ------------------------------------------------------------------------
    def delete_lease(self, context, lease_id):
        lease = self._settled_lease(context, lease_id)
        previous = lease['status']
        if previous not in L.STABLE:
            raise exceptions.InvalidStatus(
                f'Lease {lease_id} is {previous}; try again when it is not')
        lease_db.set_status(context, lease_id, L.DELETING, expected=[previous])
        lease = self._plain_lease(context, lease_id)
        view = self.get_lease(context, lease_id)
        try:
            self._give_back(context, lease)
        except Exception as exc:
            # The lease stays, in the status it had, and may be deleted again. What
            # was given back stays given back: an ended reservation is recorded
            # deleted; a pending one that was released gets its capacity again
            # from its start event, as after any release.
            LOG.exception('Deleting lease %s failed; it goes back to %s', lease_id,
                          previous)
            lease_db.set_status(context, lease_id, previous, expected=[L.DELETING],
                                reason=f'delete failed: {exc}')
            raise _answer(exc, lease_id, 'deleted') from exc
        self._remove(context, lease, view)
        if previous != L.TERMINATED:
            # As in Blazar: a lease deleted before its end has ended too.
            self.policy.on_end(context, lease)

    def _finish_delete(self, context, lease_id):
        """Finish a delete a dead manager left; raises on failure, leaving the lease
        DELETING (the next recovery pass runs this again)."""
        lease = self._plain_lease(context, lease_id)
        view = self.get_lease(context, lease_id)
        self._give_back(context, lease)
        self._remove(context, lease, view)

    def _give_back(self, context, lease):
        for reservation in lease['reservations']:
            plugin = self._plugin(reservation['resource_type'])
            if reservation['status'] == R.PENDING:
                plugin.release(context, lease, reservation)
            elif reservation['status'] in (R.ACTIVE, R.ERROR):
                plugin.on_end(context, lease, reservation)
                lease_db.set_reservation_status(context, reservation['id'], R.DELETED)

    def _remove(self, context, lease, view):
        self._delete_rows(context, lease['id'])
        self.trusts.revoke(lease['trust_id'])
        self.notifier.notify(context, 'lease.delete', view)

    def _delete_rows(self, context, lease_id):
        with db_api.writer.using(context):
            context.session.execute(sa.delete(models.Lease)
                                    .where(models.Lease.id == lease_id))

    def _release(self, context, lease, reservations):
        for reservation in reservations:
            try:
                self._plugin(reservation['resource_type']).release(context, lease,
                                                                   reservation)
            except Exception:
                LOG.exception('Could not release reservation %s of lease %s',
                              reservation['id'], lease['id'])

    # Events ------------------------------------------------------------------------
    def run_event(self, context, event_id, finish=None):
        """Run one claimed event. Raises on failure; the engine decides what next.

        ``finish(context)`` is called inside the transaction that records the
        outcome, so the event's result and the lease's new status commit together.
        """
        finish = finish or (lambda context, note=None: None)
        handlers = {E.START_LEASE: self._start, E.BEFORE_END_LEASE: self._before_end,
                    E.END_LEASE: self._end}
        with db_api.writer.using(context):
            event_type, lease = lease_db.event_and_lease(context, event_id)
            if event_type not in handlers:
                raise exceptions.EventError(event_id=event_id,
                                            error=f'unknown event type {event_type}')
            lease = self._enter(context, event_type, lease)
        lease_id = lease['id']
        outcome = handlers[event_type](context, lease, finish)
        self._notify_events(context, [(event_type, lease_id)])
        return outcome

    def _notify_events(self, context, events):
        """``lease.event.<type>`` for each of ``events`` (``(event type, lease id)``)
        once their outcomes are committed. The leases' views are read only if
        notifications are sent, all in one read (a view per event cost more than a
        batch's start)."""
        if not events or not self.notifier.enabled:
            return
        lease_ids = sorted({lease_id for _, lease_id in events})
        try:
            with db_api.reader.using(context):
                shown = {view['id']: view for view in self._views(
                    context, lease_db.get_many(context, lease_ids))}
        except Exception:  # a notification must never undo the work it reports
            LOG.exception('Could not read leases %s to notify their events',
                          ', '.join(lease_ids))
            return
        for event_type, lease_id in events:
            if lease_id in shown:    # else deleted meanwhile
                self.notifier.notify(context, f'lease.event.{event_type}',
                                     shown[lease_id])

    def run_batch(self, context, event_ids, finish_all):
        """Run several claimed events (starts, before-ends) as one batch:
        :meth:`run_event`'s work for each, with the database's part done once for all.

        The events and their leases are read, and the leases that start moved to
        STARTING, in one transaction; each plugin's ``on_start`` or ``before_end``
        runs in turn as for one event; then every outcome is recorded in one
        transaction, with ``finish_all(context, event_ids)`` (False: a claim was lost)
        inside it. Returns ``(failed, alone)``: ``{event_id: exception}`` for the
        events whose plugin failed (a lease that was starting stays STARTING, as after
        a failed single start; the caller retries or fails them), and the events to
        run one by one with :meth:`run_event` — anything unusual (another event type,
        a start of a lease not PENDING, a before-end of a lease not ACTIVE, a lease or
        claim changed meanwhile) is left to that path.
        """
        try:
            with db_api.writer.using(context):
                batch = self._enter_batch(context, event_ids)
        except _BatchBroken:
            return {}, list(event_ids)
        alone = [event_id for event_id in event_ids if event_id not in batch]
        failed, started = {}, {}
        for event_id, (event_type, lease) in batch.items():
            try:
                if event_type == E.START_LEASE:
                    started[event_id] = self._act(context, lease, 'on_start',
                                                  (R.PENDING, R.ERROR))
                else:
                    self._act(context, lease, 'before_end', (R.ACTIVE,))
            except Exception as exc:
                failed[event_id] = exc
        done = [event_id for event_id in batch if event_id not in failed]
        try:
            with db_api.writer.using(context):
                lease_db.set_reservation_statuses(
                    context, [r for ids in started.values() for r in ids], R.ACTIVE)
                lease_ids = [batch[event_id][1]['id'] for event_id in started]
                if lease_db.set_statuses(context, lease_ids, L.ACTIVE,
                                         L.STARTING) != len(lease_ids) or \
                        not finish_all(context, done):
                    raise _BatchBroken()
        except _BatchBroken:
            # Nothing recorded: each goes again on its own (plugins are idempotent),
            # where a lost claim or a changed lease is handled for that one event.
            return failed, alone + done
        self._notify_events(context, [(batch[event_id][0], batch[event_id][1]['id'])
                                      for event_id in done])
        return failed, alone

    def _enter_batch(self, context, event_ids):
        """``{event_id: (event_type, lease)}`` of the events a batch runs: starts of
        PENDING leases, those leases moved to STARTING (:meth:`_enter` for each, in
        one UPDATE), and before-ends of ACTIVE leases."""
        batch = {}
        for event_id, (event_type, lease) in lease_db.events_and_leases(
                context, event_ids).items():
            if event_type == E.START_LEASE and lease['status'] == L.PENDING:
                batch[event_id] = (event_type, dict(lease, status=L.STARTING))
            elif event_type == E.BEFORE_END_LEASE and lease['status'] == L.ACTIVE:
                batch[event_id] = (event_type, lease)
        lease_ids = [lease['id'] for event_type, lease in batch.values()
                     if event_type == E.START_LEASE]
        if len({lease['id'] for _, lease in batch.values()}) != len(batch) or \
                lease_db.set_statuses(context, lease_ids, L.STARTING,
                                      L.PENDING) != len(lease_ids):
            raise _BatchBroken()
        return batch

    def _enter(self, context, event_type, lease):
        """Move the lease into the event's transitional status (in the reading
        transaction, so reading and claiming the lease cost one round of commits)."""
        target = {E.START_LEASE: L.STARTING, E.END_LEASE: L.TERMINATING}.get(event_type)
        if target is None or lease['status'] == target:
            return lease
        if event_type == E.END_LEASE and lease['status'] == L.TERMINATED:
            return lease
        self._require(lease, (L.PENDING,) if target == L.STARTING else (L.ACTIVE, L.ERROR))
        lease_db.set_status(context, lease['id'], target, expected=[lease['status']])
        return dict(lease, status=target)

    def _start(self, context, lease, finish):
        self._act_then_settle(context, lease, finish, 'on_start', (R.PENDING, R.ERROR),
                              R.ACTIVE, L.STARTING, L.ACTIVE)

    def _before_end(self, context, lease, finish):
        if lease['status'] != L.ACTIVE:
            outcome = f'skipped: lease is {lease["status"]}'
        else:
            outcome = None
            self._act(context, lease, 'before_end', (R.ACTIVE,))
        with db_api.writer.using(context):
            finish(context, outcome)
        return outcome

    def _end(self, context, lease, finish):
        if lease['status'] == L.TERMINATED:
            with db_api.writer.using(context):
                finish(context, 'already terminated')
            return 'already terminated'
        self._act_then_settle(context, lease, finish, 'on_end',
                              (R.PENDING, R.ACTIVE, R.ERROR), R.DELETED,
                              L.TERMINATING, L.TERMINATED)
        self.policy.on_end(context, lease)
        self.trusts.revoke(lease['trust_id'])

    def _act(self, context, lease, action, from_statuses):
        """Run ``action`` of the plugin of each reservation in ``from_statuses``;
        the ids of those reservations."""
        done = []
        for reservation in lease['reservations']:
            if reservation['status'] in from_statuses:
                plugin = self._plugin(reservation['resource_type'])
                getattr(plugin, action)(context, lease, reservation)
                done.append(reservation['id'])
        return done

    def _act_then_settle(self, context, lease, finish, action, from_statuses,
                         reservation_status, lease_from, lease_to):
        """Run ``action`` of each plugin concerned, then record every outcome (and the
        event's) in one transaction. A failure half-way records nothing: the retry
        repeats the actions, which plugins make idempotent."""
        done = self._act(context, lease, action, from_statuses)
        with db_api.writer.using(context):
            for reservation_id in done:
                lease_db.set_reservation_status(context, reservation_id,
                                                reservation_status)
            lease_db.set_status(context, lease['id'], lease_to, expected=[lease_from])
            finish(context)

    def _require(self, lease, expected):
        if lease['status'] in expected:
            return
        if lease['status'] in L.TRANSITIONAL:
            raise LeaseBusy(lease_id=lease['id'], status=lease['status'])
        raise exceptions.InvalidStatus(
            f'Lease {lease["id"]} is {lease["status"]}, expected {" or ".join(expected)}')

    def fail_event(self, context, event_id, reason, finish=None):
        """Record a final failure: the lease goes to ERROR with the reason shown.

        ``finish(context)`` records the event's own outcome in the same transaction,
        so nobody sees the lease in ERROR while its event still looks in progress.
        """
        with db_api.writer.using(context):
            event = context.session.get(models.Event, event_id)
            event_type, lease_id = event.event_type, event.lease_id
            lease = self._plain_lease(context, lease_id)
            message = f'{event_type} failed: {reason}'
            for reservation in lease['reservations']:
                if reservation['status'] in (R.PENDING, R.ACTIVE) and \
                        event_type != E.BEFORE_END_LEASE:
                    lease_db.set_reservation_status(context, reservation['id'],
                                                    R.ERROR)
            if states.allowed('lease', lease['status'], L.ERROR):
                lease_db.set_status(context, lease_id, L.ERROR, reason=message,
                                    expected=[lease['status']])
            else:
                lease_db.get(context, lease_id).status_reason = message
            if finish is not None:
                finish(context)

    # Recovery ----------------------------------------------------------------------
    def recover(self, context, older_than):
        """Settle leases a dead manager left mid-request (called by the engine).

        Every step is idempotent, so two managers recovering the same lease at once
        only make one of them log a lost race.
        """
        actions = ((L.CREATING, 'Rolling back', self._roll_back),
                   (L.UPDATING, 'Settling', self._settle_update),
                   (L.DELETING, 'Finishing deletion of', self._finish_delete))
        for status, verb, action in actions:
            for lease_id in lease_db.stuck(context, status, older_than):
                LOG.warning('%s lease %s left %s by a manager that stopped', verb,
                            lease_id, status)
                try:
                    action(context, lease_id)
                except exceptions.LeaseNotFound:
                    pass
                except Exception:
                    LOG.exception('Recovery of lease %s failed', lease_id)

    def _settle_update(self, context, lease_id):
        """Make Nova follow an update a dead manager left (committed or not), then
        settle the lease where its events put it. If Nova fails, the lease stays
        UPDATING and the next recovery pass tries again."""
        self._after_update(context, lease_id)
        lease_db.set_status(context, lease_id, self._settled_status(context, lease_id),
                            expected=[L.UPDATING])

    def _roll_back(self, context, lease_id):
        plain = self._plain_lease(context, lease_id)
        self._release(context, plain, plain['reservations'])
        self._discard_created(context, lease_id)
        self.trusts.revoke(plain['trust_id'])

    # Helpers -----------------------------------------------------------------------
    def _plugin(self, resource_type):
        try:
            return self.plugins[resource_type]
        except KeyError:
            raise exceptions.UnsupportedResourceType(resource_type=resource_type) from None

    def _plain_lease(self, context, lease_id):
        with db_api.reader.using(context):
            return lease_db.plain(context, lease_id)

    def _settled_lease(self, context, lease_id):
        """The lease once it is in a stable status: a lease in the middle of a
        change (its start, another request's update) is waited for, up to ``[manager]
        settle_wait`` seconds, rather than refused at once. The caller still checks
        the status it gets (the wait may end first, or more requests already wait)."""
        lease = self._plain_lease(context, lease_id)
        if lease['status'] in L.STABLE or not self._settle_waiters.acquire(blocking=False):
            return lease
        try:
            deadline = time.monotonic() + self.conf.manager.settle_wait
            pause = 0.02
            while lease['status'] not in L.STABLE and time.monotonic() < deadline:
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(pause * 2, 0.5)
                lease = self._plain_lease(context, lease_id)
            return lease
        finally:
            self._settle_waiters.release()


@contextlib.contextmanager
def _marker_of(query):
    """A listing's ``marker`` that is no lease the caller may list is bad input."""
    try:
        yield
    except exceptions.LeaseNotFound:
        raise exceptions.InvalidInput(
            reason=f'marker {limits.quote(query.get("marker"), 64)} not found') from None


class _BatchBroken(Exception):
    """A batch of events met something only the one-event path handles: its
    transaction is rolled back and its events run one by one."""


def _answer(exc, lease_id, done):
    """The error a caller gets for a failed update or delete of ``lease_id``.

    Climate's exceptions (4xx, and 503 ``ComputeUnavailable``...) and compute errors
    (turned into HTTP answers by the RPC endpoint) stay themselves; an unreachable
    database is a 503; anything else is a 500 saying the lease is unchanged.
    """
    if isinstance(exc, (exceptions.ClimateException, compute_exc.ComputeError)):
        return exc
    if isinstance(exc, db_exc.DBConnectionError):
        return exceptions.DatabaseUnavailable(reason=str(exc))
    return exceptions.LeaseChangeFailed(lease_id=lease_id, done=done,
                                        error=f'{type(exc).__name__}: {exc}')


class LeaseBusy(exceptions.InvalidStatus):
    """An event found its lease in the middle of a user's request: retry shortly."""

    msg_fmt = 'Lease %(lease_id)s is %(status)s'
    retryable = True



class _KeyTaken(Exception):
    """A concurrent request inserted the same idempotency key first."""


class _DryRun(Exception):
    """Rolls back the transaction of :meth:`LeaseService.check_lease`."""
