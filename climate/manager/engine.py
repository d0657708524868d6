"""The event engine: runs each due event once, on time, with any number of managers.

One thread sleeps until the earliest due event (or a claim that may expire), woken
early by :meth:`EventEngine.wake` when a lease is created or moved, and never longer
than ``[manager] max_poll_interval``. It claims what is due (see ``climate.db.events``)
and hands each claimed event to a bounded pool. A second thread heart-beats the claims
this manager holds, and a third, doing nothing else, the manager's liveness row: when
that row is missing or silent for ``[manager] liveness_timeout``, the other managers
take this one's claims over at once. A transient failure puts the event back with a
growing back-off; the last attempt, or a permanent failure, sets it to ERROR with the
reason, and the lease to ERROR with the same reason.
"""

import concurrent.futures
import datetime
import os
import random
import socket
import threading
import time
import uuid

from oslo_log import log as logging

from climate import context as climate_context
from climate import exceptions
from climate.common import states
from climate.common import timeutils
from climate.db import events as event_db

LOG = logging.getLogger(__name__)
E = states.Event
MAX_BACKOFF = 300.0
# How often a manager looks again when due events exist but must wait for others
# (e.g. a start waiting for another manager to finish an end on the same hosts).
BLOCKED_POLL = 0.25
# A manager looks at SPREAD times as many due events as it can take, and takes a
# random sample of them.
SPREAD = 4
# Events a manager holds at most, per worker (its tasks: 2 per worker). Batches need
# more than one event per task: with 4, a batch was 4 events and a start cost half as
# much again as with 8 (benchmarks/README.md, event_latency). A manager takes only its
# share of the due events it sees (see dispatch), so holding more does not leave the
# other managers idle.
HELD_PER_WORKER = 8
# Events run in batches (LeaseService.run_batch); the others one by one.
BATCHED = (E.START_LEASE, E.BEFORE_END_LEASE)
PRIORITY = {E.START_LEASE: 0, E.BEFORE_END_LEASE: 1, E.END_LEASE: 2}


def _local_process_alive(pid):
    """Whether process ``pid`` of this host runs (a zombie does not)."""
    if not pid or pid == os.getpid():
        return False
    try:
        with open(f'/proc/{pid}/stat') as stat:
            state = stat.read().rpartition(')')[2].split()[0]
        return state not in ('Z', 'X')
    except FileNotFoundError:
        return False
    except OSError:
        pass  # no /proc here
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ClaimLost(exceptions.ClimateException):
    msg_fmt = 'The claim on event %(event_id)s was taken over'


class EventEngine:

    def __init__(self, conf, service, owner=None):
        self.conf = conf
        self.service = service
        self.owner = owner or '%s:%d:%s' % (socket.gethostname(), os.getpid(),
                                            uuid.uuid4().hex[:8])
        self._workers = conf.manager.event_workers
        self._batch = conf.manager.event_batch_size
        # Claimed events may queue for a worker: claiming in larger batches costs far
        # fewer claim queries than one query per freed worker. Room is counted in
        # tasks for the workers: one event, or a batch of up to event_batch_size events.
        self._capacity = 2 * self._workers
        # And at most this many events held (claimed, not finished): what another
        # manager could run meanwhile, or must take over if this one dies.
        self._held = HELD_PER_WORKER * self._workers
        self._pool = concurrent.futures.ThreadPoolExecutor(
            self._workers, thread_name_prefix='climate-event')
        self._running = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads = []
        self._last_recovery = None
        self._registered = threading.Event()
        self._peers = 1  # live managers, this one included (read at each liveness beat)
        self._host = socket.gethostname()
        self._liveness = datetime.timedelta(seconds=conf.manager.liveness_timeout)
        self._claim_timeout = datetime.timedelta(seconds=conf.manager.claim_timeout)
        if conf.manager.liveness_timeout < 2 * conf.manager.liveness_interval:
            LOG.warning('[manager] liveness_timeout (%.1fs) is under twice '
                        'liveness_interval (%.1fs): one late heart-beat will have this '
                        'manager taken for dead', conf.manager.liveness_timeout,
                        conf.manager.liveness_interval)

    @property
    def context(self):
        return climate_context.admin_context()

    # Life cycle --------------------------------------------------------------------
    def start(self):
        for name, target in (('climate-liveness', self._liveness_loop),
                             ('climate-engine', self._loop),
                             ('climate-heartbeat', self._heartbeat_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        LOG.info('Event engine %s started', self.owner)

    def stop(self, wait=True):
        """Stop claiming; with ``wait``, let running events finish first."""
        self._stopping.set()
        self._wake.set()
        self._pool.shutdown(wait=wait, cancel_futures=True)
        for thread in self._threads:
            thread.join(timeout=5)
        if self.running:
            # Events still run here: let the row go stale (liveness_timeout) when the
            # process exits rather than have them started again while they run.
            return
        try:
            event_db.unregister_manager(self.context, self.owner)
        except Exception:
            LOG.exception('Could not delete the liveness row of %s; other managers '
                          'will take it for dead after liveness_timeout', self.owner)

    def wake(self):
        self._wake.set()

    @property
    def running(self):
        with self._lock:
            return set(self._running)

    @property
    def tasks(self):
        """Tasks given to the workers and not finished: events, or batches of them."""
        with self._lock:
            return len({id(future) for future in self._running.values()})

    # Main loop ---------------------------------------------------------------------
    def _loop(self):
        # No claim before the liveness row exists: it would be taken over at once.
        while not self._registered.wait(0.5):
            if self._stopping.is_set():
                return
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self._recover_if_due()
                _, more = self.dispatch()
                delay = self._sleep_time(more)
            except Exception:
                LOG.exception('Event engine iteration failed; retrying shortly')
                delay = 1.0
            if delay > 0:
                self._wake.wait(delay)

    def dispatch(self):
        """Claim what is due (up to free workers) and start it.

        Returns ``(claimed, more)``: how many were claimed, and whether more may be
        claimable right away (the query was cut at the number of free workers).
        """
        free = self._capacity - self.tasks
        room = self._held - len(self.running)  # events, batched ones included
        if free <= 0 or room <= 0:
            return 0, False
        now = timeutils.utcnow()
        ctx = self.context
        claimed = 0
        running = self.running
        for event_id, claimed_at, owner, host, pid in event_db.stale(
                ctx, self.owner, now, self._liveness, self._claim_timeout, free):
            if event_id in running:
                continue  # its claim heart-beat failed; it is still running here
            if (claimed_at >= now - self._claim_timeout and host == self._host
                    and _local_process_alive(pid)):
                # Silent but running on this host: starved (SQLite's write lock, say),
                # not dead. Only claim_timeout takes its claims.
                LOG.debug('Manager %s is silent but alive here; leaving event %s',
                          owner, event_id)
                continue
            if event_db.take_over(ctx, event_id, claimed_at, self.owner, now,
                                  self._liveness, self._claim_timeout):
                LOG.warning('Took over event %s abandoned by manager %s', event_id,
                            owner)
                self._submit(event_id)
                claimed += 1
        free -= claimed
        room -= claimed
        if free <= 0 or room <= 0:
            return claimed, True
        idle = max(1, self._workers - self.tasks)
        # Look wider than we can take and claim starts first (users wait on them),
        # then before-ends, then ends, each in a random order, so managers polling at
        # the same moment mostly go for different rows. (A start never waits on an
        # end here: claimable() holds back a start while an end due before it is
        # open.)
        limit = min(free * self._batch, room) * SPREAD
        candidates = event_db.claimable(ctx, now, limit)
        if len(candidates) < limit:
            # Every claimable event is in sight: take this manager's share of them,
            # so that a few due events are spread over the managers rather than
            # queued in one (the rest are claimed at once if nobody else does).
            room = min(room, -(-len(candidates) // self._peers))
        shuffled = sorted(candidates, key=lambda row: (PRIORITY.get(row.event_type, 3),
                                                       random.random()))
        wanted = self._within(shuffled, free)[:room]
        owned = set(event_db.claim(ctx, [row.id for row in wanted], self.owner, now))
        batched = []
        for row in candidates:  # in the order claimable() gave
            if row.id in owned:
                LOG.debug('Claimed %s event %s of lease %s', row.event_type, row.id,
                          row.lease_id)
                if self._batches(row):
                    batched.append(row.id)
                else:
                    self._submit(row.id)
                claimed += 1
        self._submit_batches(batched, idle)
        if wanted and not owned:
            # Every row went to other managers: give them a moment instead of racing.
            self._stopping.wait(random.uniform(0.005, 0.03))
        return claimed, len(candidates) > len(owned)

    def _batches(self, row):
        return row.event_type in BATCHED and self._batch > 1

    def _within(self, rows, tasks):
        """The first of ``rows`` that fit in ``tasks`` tasks: one per event, one per
        ``event_batch_size`` events that run in batches."""
        wanted, batched = [], 0
        for row in rows:
            in_batch = self._batches(row)
            cost = 0 if in_batch and batched % self._batch else 1
            if cost > tasks:
                continue
            tasks -= cost
            batched += in_batch
            wanted.append(row)
        return wanted

    def _sleep_time(self, more_claimable):
        if self.tasks > self._capacity - self._workers:
            return self.conf.manager.max_poll_interval  # a finishing event wakes us
        if more_claimable:
            return 0
        next_wake = event_db.next_wake(self.context, self.owner, self._liveness,
                                       self._claim_timeout)
        ceiling = float(self.conf.manager.max_poll_interval)
        if next_wake is None:
            return ceiling
        seconds = (next_wake - timeutils.utcnow()).total_seconds()
        # Due but not claimable here: waiting on another manager or an ordering rule.
        return min(ceiling, max(seconds, BLOCKED_POLL))

    def _submit(self, event_id):
        with self._lock:
            self._running[event_id] = self._pool.submit(self._run, event_id)

    def _submit_batches(self, event_ids, idle):
        """Events in batches of up to ``event_batch_size``, spread over the ``idle``
        workers (batches of more than one only when there are more events than idle
        workers: a few starts still run side by side)."""
        if not event_ids:
            return
        size = min(self._batch, -(-len(event_ids) // idle))
        for first in range(0, len(event_ids), size):
            batch = event_ids[first:first + size]
            if len(batch) == 1:
                self._submit(batch[0])
                continue
            with self._lock:
                future = self._pool.submit(self._run_batch, batch)
                for event_id in batch:
                    self._running[event_id] = future

    # One event ---------------------------------------------------------------------
    def _run(self, event_id):
        try:
            self._run_one(event_id)
        finally:
            self._forget([event_id])

    def _forget(self, event_ids):
        with self._lock:
            for event_id in event_ids:
                self._running.pop(event_id, None)
        if self._capacity - self.tasks >= self._workers:
            self._wake.set()

    def _run_batch(self, event_ids):
        """A batch of events (``LeaseService.run_batch``); what it leaves goes the
        one-event way, here in this worker."""
        ctx = self.context

        def finish_all(context, ids):
            return event_db.finish_many(context, ids, self.owner, E.DONE) == len(ids)

        try:
            try:
                failed, alone = self.service.run_batch(ctx, event_ids, finish_all)
            except Exception:
                LOG.exception('A batch of %d events failed; running them one by one',
                              len(event_ids))
                failed, alone = {}, list(event_ids)
            for event_id, exc in failed.items():
                self._failed(ctx, event_id, exc)
            for event_id in alone:
                self._run_one(event_id)
        finally:
            self._forget(event_ids)

    def _run_one(self, event_id):
        ctx = self.context

        def finish(context, note=None):
            # Inside the handler's last transaction: the outcome commits with it.
            if not event_db.finish(context, event_id, self.owner, E.DONE, error=note):
                raise ClaimLost(event_id=event_id)

        try:
            self.service.run_event(ctx, event_id, finish)
        except ClaimLost:
            LOG.warning('Event %s finished here, but another manager had taken it '
                        'over; its result is left to that manager', event_id)
        except Exception as exc:
            self._failed(ctx, event_id, exc)

    def _failed(self, ctx, event_id, exc):
        try:
            event = event_db.get(ctx, event_id)
            reason = f'{type(exc).__name__}: {exc}'
            if event is None or (event.owner, event.status) != (self.owner,
                                                                E.IN_PROGRESS):
                # Taken over while it ran here (this manager was taken for dead): the
                # failure is likely the new owner's progress; recording it would undo it.
                LOG.warning('Event %s failed here after another manager took it over; '
                            'its outcome is left to that manager: %s', event_id, reason)
                return
            attempts = event.attempts if event else 0
            if exceptions.is_retryable(exc) and \
                    attempts < self.conf.manager.event_max_attempts:
                delay = min(self.conf.manager.event_retry_interval * 2 ** (attempts - 1),
                            MAX_BACKOFF)
                LOG.warning('Event %s failed (attempt %d), retrying in %.1fs: %s',
                            event_id, attempts, delay, reason)
                due = timeutils.utcnow() + datetime.timedelta(seconds=delay)
                event_db.finish(ctx, event_id, self.owner, E.UNDONE, error=reason,
                                due_at=due)
                return
            LOG.error('Event %s failed for good after %d attempt(s): %s', event_id,
                      attempts, reason)

            def record(context):
                if not event_db.finish(context, event_id, self.owner, E.ERROR,
                                       error=reason):
                    raise ClaimLost(event_id=event_id)

            self.service.fail_event(ctx, event_id, reason, record)
        except ClaimLost:
            LOG.warning('Event %s failed here, but another manager had taken it over; '
                        'its outcome is left to that manager', event_id)
        except Exception:
            # The claim stays IN_PROGRESS, no longer heart-beaten: it is taken over
            # after claim_timeout.
            LOG.exception('Could not record the failure of event %s', event_id)

    # Heart-beats and recovery ------------------------------------------------------
    def _liveness_loop(self):
        """Heart-beat this manager's liveness row, and nothing else, so that neither a
        busy event pool nor a slow claim query delays it."""
        interval = self.conf.manager.liveness_interval
        ctx = self.context
        last_beat = None
        next_beat = time.monotonic()
        while not self._stopping.is_set():
            try:
                if not self._registered.is_set() or not event_db.beat(ctx, self.owner):
                    if self._registered.is_set():
                        LOG.warning('The liveness row of %s was gone (taken for dead); '
                                    'writing it again', self.owner)
                    event_db.register_manager(ctx, self.owner, self._host,
                                              os.getpid())
                    self._registered.set()
                self._peers = max(1, event_db.live_managers(
                    ctx, timeutils.utcnow() - self._liveness))
                beaten = time.monotonic()
                if last_beat is not None and \
                        beaten - last_beat > self.conf.manager.liveness_timeout:
                    LOG.warning('Manager %s could not heart-beat for %.1fs, over '
                                '[manager] liveness_timeout: other managers may have '
                                'taken over (and started again) its running events',
                                self.owner, beaten - last_beat)
                last_beat = beaten
            except Exception:
                LOG.exception('Heart-beat of the liveness row of %s failed', self.owner)
            next_beat = max(next_beat + interval, time.monotonic())
            self._stopping.wait(max(0.0, next_beat - time.monotonic()))

    def _heartbeat_loop(self):
        interval = max(self.conf.manager.claim_timeout / 4.0, 0.5)
        while not self._stopping.wait(interval):
            try:
                event_db.heartbeat(self.context, self.owner, None, self.running)
            except Exception:
                LOG.exception('Heart-beat of claimed events failed')

    def _recover_if_due(self):
        now = timeutils.utcnow()
        period = datetime.timedelta(seconds=self.conf.manager.max_poll_interval)
        if self._last_recovery is not None and now - self._last_recovery < period:
            return
        self._last_recovery = now
        try:
            event_db.forget_dead_managers(self.context, now - max(
                self._claim_timeout, 10 * self._liveness))
        except Exception:
            LOG.exception('Deleting the liveness rows of dead managers failed')
        older_than = now - datetime.timedelta(
            seconds=self.conf.manager.stuck_lease_timeout)
        try:
            self.service.recover(self.context, older_than)
        except Exception:
            LOG.exception('Recovery of stuck leases failed')
