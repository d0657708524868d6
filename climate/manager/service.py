"""The lease service: create, update and delete leases, and run their events.

Database work happens in short transactions; each plugin's capacity claim runs inside
the lease's own transaction, retried against fresh data when a concurrent request won
the same capacity. Side effects outside the database (``prepare``, ``after_update``,
events) happen after commit and are undone or recorded on failure, never left silent.
"""

import datetime
import random
import time

from oslo_db import exception as db_exc
from sqlalchemy import exc as sa_exc
from oslo_log import log as logging
import sqlalchemy as sa

from climate.common import timeutils
from climate.compute import exceptions as compute_exc
from climate import exceptions
from climate.db import api as db_api
from climate.db import leases as lease_db
from climate.db import models
from climate.db import sqlite
from climate.common import states
from climate.manager import views

LOG = logging.getLogger(__name__)
L = states.Lease
R = states.Reservation
E = states.Event

# Seconds: the upper bound of the random pause before the n-th retry of a lost claim
# grows as CLAIM_JITTER * (2**n - 2): 0, 10 ms, 30 ms, 70 ms… up to 0.5 s.
CLAIM_JITTER = 0.005
UPDATABLE_KEYS = ('name', 'start_date', 'end_date', 'before_end_date', 'reservations')


class LeaseService:

    def __init__(self, conf, plugins, notifier, wake=None):
        self.conf = conf
        self.plugins = plugins
        self.notifier = notifier
        self._wake = wake or (lambda: None)

    def set_waker(self, wake):
        self._wake = wake

    # Reads -------------------------------------------------------------------------
    def get_lease(self, context, lease_id):
        with db_api.reader.using(context):
            return self._view(context, lease_db.get(context, lease_id))

    def list_leases(self, context, **filters):
        with db_api.reader.using(context):
            leases = lease_db.list_leases(context, **filters)
            return views.leases(context, leases, self.plugins)

    def _view(self, context, lease):
        return views.leases(context, [lease], self.plugins)[0]

    # Create ------------------------------------------------------------------------
    def create_lease(self, context, values):
        lease_values, requests = self._validate_create(context, values)
        lease_values['trust_id'] = self._create_trust(context, requests)
        try:
            lease_id = self._with_claim_retries(
                lambda: self._insert_lease(context, lease_values, requests))
        except Exception:
            self._delete_trust(lease_values['trust_id'])
            raise
        lease = self._plain_lease(context, lease_id)
        prepared = []
        try:
            for reservation in lease['reservations']:
                self._plugin(reservation['resource_type']).prepare(context, lease,
                                                                   reservation)
                prepared.append(reservation)
        except Exception:
            LOG.exception('Preparing lease %s failed; rolling it back', lease_id)
            self._release(context, lease, prepared)
            self._delete_rows(context, lease_id)
            self._delete_trust(lease['trust_id'])
            raise
        lease_db.set_status(context, lease_id, L.PENDING, expected=[L.CREATING])
        view = self.get_lease(context, lease_id)
        self.notifier.notify(context, 'lease.create', view)
        self._wake()
        return view

    def _validate_create(self, context, values):
        if not isinstance(values, dict):
            raise exceptions.InvalidInput(reason='the lease must be an object')
        name = values.get('name')
        if name is None:
            raise exceptions.MissingParameter(param='name')
        _check_name(name)
        for key in ('start_date', 'end_date'):
            if values.get(key) is None:
                raise exceptions.MissingParameter(param=key)
        start = _parse_date(values['start_date'])
        end = _parse_date(values['end_date'])
        if start < timeutils.utcnow_minute():
            raise exceptions.InvalidInput('Start date must be later than current date')
        if end <= start:
            raise exceptions.InvalidInput('End date must be later than start date.')
        before_end = self._before_end_time(values.get('before_end_date'), start, end)
        requests = values.get('reservations') or []
        if not isinstance(requests, list):
            raise exceptions.MalformedParameter(param='reservations')
        normalised = []
        for request in requests:
            if not isinstance(request, dict):
                raise exceptions.MalformedParameter(param='reservations')
            resource_type = request.get('resource_type')
            if not resource_type:
                raise exceptions.MissingParameter(param='resource_type')
            plugin = self._plugin(resource_type)
            normalised.append((resource_type, plugin.validate(context, dict(request))))
        lease_values = dict(name=name, start_date=start, end_date=end,
                            before_end=before_end,
                            project_id=values.get('project_id') or context.project_id,
                            user_id=values.get('user_id') or context.user_id)
        if not lease_values['project_id']:
            raise exceptions.MissingParameter(param='project_id')
        return lease_values, normalised

    # Trusts ------------------------------------------------------------------------
    def _trusting_compute(self, resource_types):
        """The compute driver of a plugin that acts with the owner's authority for
        one of these resource types, or None."""
        for resource_type in resource_types:
            plugin = self._plugin(resource_type)
            if plugin.acts_for_owner:
                return plugin.compute
        return None

    def _create_trust(self, context, requests):
        """A Keystone trust from the creator to Climate's account when a plugin of
        the lease needs the owner's authority. Without one (no token under noauth,
        Keystone refused, e.g. for application-credential tokens) the lease is still
        made: the plugins then act with Climate's own account."""
        driver = self._trusting_compute(resource_type for resource_type, _ in requests)
        if driver is None:
            return None
        try:
            return driver.create_trust(context)
        except compute_exc.ComputeError as error:
            LOG.warning('No Keystone trust from user %s of project %s (%s); Climate will '
                        'act on their lease with its own account', context.user_id,
                        context.project_id, error.message)
            return None

    def _delete_trust(self, trust_id):
        """Revoke a lease's trust once nothing will use it (failures only logged: a
        trust outliving its lease grants nothing Climate would use)."""
        if not trust_id:
            return
        driver = self._trusting_compute(self.plugins)
        if driver is None:
            return
        try:
            driver.delete_trust(trust_id)
        except compute_exc.ComputeError as error:
            LOG.warning('Could not delete Keystone trust %s: %s', trust_id, error.message)

    def _before_end_time(self, value, start, end):
        if value is not None:
            when = _parse_date(value)
            if not start < when < end:
                raise exceptions.NotAuthorized('Datetime is out of lease limits')
            return when
        minutes = self.conf.manager.minutes_before_end_lease
        if minutes <= 0:
            return None
        return max(end - datetime.timedelta(minutes=minutes), start)

    def _insert_lease(self, context, lease_values, requests):
        with db_api.writer.using(context):
            session = context.session
            lease = models.Lease(
                name=lease_values['name'], project_id=lease_values['project_id'],
                user_id=lease_values['user_id'], trust_id=lease_values['trust_id'],
                start_date=lease_values['start_date'], end_date=lease_values['end_date'],
                status=L.CREATING, degraded=False)
            session.add(lease)
            session.flush()
            for resource_type, request in requests:
                reservation = models.Reservation(lease_id=lease.id,
                                                 resource_type=resource_type,
                                                 status=R.PENDING, missing_resources=False,
                                                 resources_changed=False)
                session.add(reservation)
                session.flush()
                self._plugin(resource_type).reserve(context, lease, reservation, request)
            for event_type, when in ((E.START_LEASE, lease.start_date),
                                     (E.BEFORE_END_LEASE, lease_values['before_end']),
                                     (E.END_LEASE, lease.end_date)):
                if when is not None:
                    session.add(models.Event(lease_id=lease.id, event_type=event_type,
                                             time=when, due_at=when, status=E.UNDONE,
                                             attempts=0))
            return lease.id

    def _with_claim_retries(self, operation):
        """Run a transaction, again against fresh data if a concurrent claim won."""
        retries = self.conf.manager.claim_retries
        for attempt in range(1, retries + 1):
            try:
                return operation()
            except (exceptions.ClaimConflict, db_exc.DBDeadlock) as exc:
                LOG.debug('Claim conflict (attempt %d of %d): %s', attempt, retries, exc)
            except sa_exc.OperationalError as exc:
                # SQLite's "database is locked": another writer held the lock longer
                # than busy_timeout (a loaded machine); the same kind of conflict.
                if not sqlite.is_locked_error(exc):
                    raise
                LOG.warning('SQLite busy (attempt %d of %d): %s', attempt, retries, exc)
            if attempt < retries:
                # The first retry is immediate (the winner has committed); later ones
                # are spread out so that the same losers do not collide again.
                time.sleep(random.uniform(0, min(CLAIM_JITTER * (2 ** attempt - 2), 0.5)))
        raise exceptions.Conflict(reason='too many concurrent changes to the same '
                                         'resources; try again')

    # Update ------------------------------------------------------------------------
    def update_lease(self, context, lease_id, values):
        if not isinstance(values, dict):
            raise exceptions.InvalidInput(reason='the lease must be an object')
        values = {k: v for k, v in values.items() if k in UPDATABLE_KEYS}
        lease = self._plain_lease(context, lease_id)
        if not values:
            return self.get_lease(context, lease_id)
        if 'name' in values:
            _check_name(values['name'])
        if set(values) == {'name'}:
            return self._rename(context, lease, values['name'])
        plan = self._plan_update(context, lease, values)
        previous = lease['status']
        if previous not in L.STABLE:
            raise exceptions.InvalidStatus(
                f'Lease {lease_id} is {previous}; try again when it is not')
        lease_db.set_status(context, lease_id, L.UPDATING, expected=[previous])
        try:
            self._with_claim_retries(lambda: self._apply_update(context, lease, plan))
        except exceptions.ClimateException as exc:
            if exc.code < 500:
                lease_db.set_status(context, lease_id, previous, expected=[L.UPDATING])
            else:
                lease_db.set_status(context, lease_id, L.ERROR, reason=str(exc),
                                    expected=[L.UPDATING])
            raise
        except Exception as exc:
            lease_db.set_status(context, lease_id, L.ERROR,
                                reason=f'update failed: {exc}', expected=[L.UPDATING])
            raise
        self._after_update(context, lease_id)
        view = self.get_lease(context, lease_id)
        self.notifier.notify(context, 'lease.update', view)
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

    def _plan_update(self, context, lease, values):
        now = timeutils.utcnow()
        start = _parse_date(values['start_date']) if 'start_date' in values \
            else lease['start_date']
        end = _parse_date(values['end_date']) if 'end_date' in values else lease['end_date']
        started = lease['events'].get(E.START_LEASE, E.UNDONE) != E.UNDONE
        ended = lease['status'] == L.TERMINATED or lease['end_date'] <= now
        dates_change = start != lease['start_date'] or end != lease['end_date'] or \
            values.get('before_end_date') is not None or bool(values.get('reservations'))
        if ended and dates_change:
            raise exceptions.InvalidInput('Terminated leases can only be renamed')
        if started and start != lease['start_date']:
            raise exceptions.InvalidInput(
                'Cannot modify the start date of already started leases')
        if not started and start != lease['start_date'] and \
                start < timeutils.utcnow_minute():
            raise exceptions.InvalidInput('Start date must be later than current date')
        if end <= start:
            raise exceptions.InvalidInput('End date must be later than start date.')
        if end != lease['end_date'] and end < now:
            raise exceptions.InvalidInput(
                'End date must be later than current and start date')
        before_end = None
        if values.get('before_end_date') is not None:
            before_end = _parse_date(values['before_end_date'])
            if not start < before_end < end:
                raise exceptions.NotAuthorized('Datetime is out of lease limits')
        requests = self._reservation_updates(lease, values.get('reservations') or [])
        return dict(name=values.get('name'), start=start, end=end, before_end=before_end,
                    requests=requests)

    def _reservation_updates(self, lease, requests):
        if not isinstance(requests, list):
            raise exceptions.MalformedParameter(param='reservations')
        known = {r['id']: r for r in lease['reservations']}
        updates, unknown = {}, []
        for request in requests:
            if not isinstance(request, dict):
                raise exceptions.MalformedParameter(param='reservations')
            if not request.get('id'):
                raise exceptions.MissingParameter(param='reservation ID')
            if request['id'] not in known:
                unknown.append(str(request['id']))
                continue
            stored_type = known[request['id']]['resource_type']
            if request.get('resource_type', stored_type) != stored_type:
                raise exceptions.CantUpdateParameter(param='resource_type')
            updates[request['id']] = {k: v for k, v in request.items()
                                      if k not in ('id', 'resource_type')}
        if unknown:
            raise exceptions.InvalidInput(
                f'Reservation(s) {", ".join(unknown)} do not belong to lease {lease["id"]}')
        return updates

    def _apply_update(self, context, lease, plan):
        with db_api.writer.using(context):
            row = lease_db.get(context, lease['id'])
            for reservation in row.reservations:
                if reservation.status == R.DELETED:
                    continue
                self._plugin(reservation.resource_type).update(
                    context, row, reservation, plan['requests'].get(reservation.id, {}),
                    plan['start'], plan['end'])
            self._move_events(row, plan)
            if plan['name'] is not None:
                row.name = plan['name']
            row.start_date, row.end_date = plan['start'], plan['end']

    def _move_events(self, row, plan):
        events = {e.event_type: e for e in row.events}
        now = timeutils.utcnow()
        for event_type, when in ((E.START_LEASE, plan['start']), (E.END_LEASE, plan['end'])):
            event = events.get(event_type)
            if event is not None and event.status == E.UNDONE:
                event.time = event.due_at = when
        before = events.get(E.BEFORE_END_LEASE)
        if before is None:
            return
        if plan['before_end'] is not None:
            when = plan['before_end']
        else:  # keep its distance to the end
            when = max(plan['end'] - (row.end_date - before.time), plan['start'])
        before.time = before.due_at = when
        if before.status == E.DONE and when > now:
            states.check('event', before.id, before.status, E.UNDONE)
            before.status = E.UNDONE

    def _after_update(self, context, lease_id):
        lease = self._plain_lease(context, lease_id)
        status = states.derive_lease_status(lease['events'].get(E.START_LEASE, E.UNDONE),
                                            lease['events'].get(E.END_LEASE, E.UNDONE))
        try:
            for reservation in lease['reservations']:
                if reservation['status'] != R.DELETED:
                    self._plugin(reservation['resource_type']).after_update(
                        context, lease, reservation)
        except Exception as exc:
            LOG.exception('Applying the update of lease %s failed', lease_id)
            lease_db.set_status(context, lease_id, L.ERROR,
                                reason=f'update failed: {exc}', expected=[L.UPDATING])
            raise
        lease_db.set_status(context, lease_id, status, expected=[L.UPDATING])

    # Delete ------------------------------------------------------------------------
    def delete_lease(self, context, lease_id):
        lease = self._plain_lease(context, lease_id)
        if lease['status'] not in L.STABLE:
            raise exceptions.InvalidStatus(
                f'Lease {lease_id} is {lease["status"]}; try again when it is not')
        lease_db.set_status(context, lease_id, L.DELETING, expected=[lease['status']])
        self._finish_delete(context, lease_id)

    def _finish_delete(self, context, lease_id):
        lease = self._plain_lease(context, lease_id)
        view = self.get_lease(context, lease_id)
        try:
            for reservation in lease['reservations']:
                plugin = self._plugin(reservation['resource_type'])
                if reservation['status'] == R.PENDING:
                    plugin.release(context, lease, reservation)
                elif reservation['status'] in (R.ACTIVE, R.ERROR):
                    plugin.on_end(context, lease, reservation)
                    lease_db.set_reservation_status(context, reservation['id'], R.DELETED)
        except Exception as exc:
            LOG.exception('Deleting lease %s failed', lease_id)
            lease_db.set_status(context, lease_id, L.ERROR,
                                reason=f'delete failed: {exc}', expected=[L.DELETING])
            raise
        self._delete_rows(context, lease_id)
        self._delete_trust(lease['trust_id'])
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
        self.notifier.notify(context, f'lease.event.{event_type}',
                             lambda: self.get_lease(context, lease_id))
        return outcome

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
            for reservation in lease['reservations']:
                if reservation['status'] == R.ACTIVE:
                    self._plugin(reservation['resource_type']).before_end(
                        context, lease, reservation)
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
        self._delete_trust(lease['trust_id'])

    def _act_then_settle(self, context, lease, finish, action, from_statuses,
                         reservation_status, lease_from, lease_to):
        """Run ``action`` of each plugin concerned, then record every outcome (and the
        event's) in one transaction. A failure half-way records nothing: the retry
        repeats the actions, which plugins make idempotent."""
        done = []
        for reservation in lease['reservations']:
            if reservation['status'] in from_statuses:
                plugin = self._plugin(reservation['resource_type'])
                getattr(plugin, action)(context, lease, reservation)
                done.append(reservation['id'])
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

    def fail_event(self, context, event_id, reason):
        """Record a final failure: the lease goes to ERROR with the reason shown."""
        with db_api.reader.using(context):
            event = context.session.get(models.Event, event_id)
            event_type, lease_id = event.event_type, event.lease_id
        lease = self._plain_lease(context, lease_id)
        message = f'{event_type} failed: {reason}'
        for reservation in lease['reservations']:
            if reservation['status'] in (R.PENDING, R.ACTIVE) and \
                    event_type != E.BEFORE_END_LEASE:
                lease_db.set_reservation_status(context, reservation['id'], R.ERROR)
        if states.allowed('lease', lease['status'], L.ERROR):
            lease_db.set_status(context, lease_id, L.ERROR, reason=message,
                                expected=[lease['status']])
        else:
            with db_api.writer.using(context):
                lease_db.get(context, lease_id).status_reason = message

    # Recovery ----------------------------------------------------------------------
    def recover(self, context, older_than):
        """Settle leases a dead manager left mid-request (called by the engine).

        Every step is idempotent, so two managers recovering the same lease at once
        only make one of them log a lost race.
        """
        actions = ((L.CREATING, 'Rolling back', self._roll_back),
                   (L.UPDATING, 'Settling', self._after_update),
                   (L.DELETING, 'Finishing deletion of', self._finish_delete))
        for status, verb, action in actions:
            for lease in lease_db.stuck(context, status, older_than):
                LOG.warning('%s lease %s left %s by a manager that stopped', verb,
                            lease.id, status)
                try:
                    action(context, lease.id)
                except exceptions.LeaseNotFound:
                    pass
                except Exception:
                    LOG.exception('Recovery of lease %s failed', lease.id)

    def _roll_back(self, context, lease_id):
        plain = self._plain_lease(context, lease_id)
        self._release(context, plain, plain['reservations'])
        self._delete_rows(context, lease_id)
        self._delete_trust(plain['trust_id'])

    # Helpers -----------------------------------------------------------------------
    def _plugin(self, resource_type):
        try:
            return self.plugins[resource_type]
        except KeyError:
            raise exceptions.UnsupportedResourceType(resource_type=resource_type) from None

    def _plain_lease(self, context, lease_id):
        with db_api.reader.using(context):
            return lease_db.plain(context, lease_id)


class LeaseBusy(exceptions.InvalidStatus):
    """An event found its lease in the middle of a user's request: retry shortly."""

    msg_fmt = 'Lease %(lease_id)s is %(status)s'
    retryable = True


def _check_name(name):
    if not isinstance(name, str) or not name.strip():
        raise exceptions.MalformedParameter(param='name')
    if len(name) > 80:
        raise exceptions.InvalidInput(reason='name is longer than 80 characters')


def _parse_date(value):
    try:
        return timeutils.parse_date(value)
    except timeutils.InvalidDate:
        raise exceptions.InvalidDate(date=value) from None
