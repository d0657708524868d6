"""``dummy.plugin``: a resource plugin that only records what it is asked to do.

Used by the manager's tests and benchmarks before real plugins exist, and to prove the
event engine's guarantees (exactly once, retries, take-over). It reserves nothing.
Every action appends a JSON line to ``[dummy_plugin] journal`` (when set), which several
processes may share. ``fail_actions`` makes the first N attempts of an action fail with
a transient error (``on_start:2``), or every attempt with a permanent one
(``on_start:always``); ``action_delay`` makes each action slow, ``action_delays``
only the actions it names.
"""

import json
import os
import threading
import time

from climate import exceptions
from climate.conf import dummy_plugin as dummy_conf
from climate.plugins import base

# Its options are declared with every other option, in climate.conf.
register_opts = dummy_conf.register_opts


class TransientFailure(exceptions.ClimateException):
    msg_fmt = 'dummy %(action)s failed (attempt %(attempt)s)'
    retryable = True


class PermanentFailure(exceptions.ClimateException):
    msg_fmt = 'dummy %(action)s always fails'


class DummyPlugin(base.ResourcePlugin):
    resource_type = 'dummy:resource'

    def __init__(self, conf):
        super().__init__(conf)
        register_opts(conf)
        self._attempts = {}
        self._lock = threading.Lock()

    def validate(self, context, values):
        return {k: v for k, v in values.items() if k != 'resource_type'}

    def reserve(self, context, lease, reservation, values):
        self._act('reserve', lease.id, reservation.id)

    def prepare(self, context, lease, reservation):
        self._act('prepare', lease['id'], reservation['id'])

    def update(self, context, lease, reservation, values, start_date, end_date):
        self._act('update', lease.id, reservation.id)

    def on_start(self, context, lease, reservation):
        self._act('on_start', lease['id'], reservation['id'])

    def before_end(self, context, lease, reservation):
        self._act('before_end', lease['id'], reservation['id'])

    def on_end(self, context, lease, reservation):
        self._act('on_end', lease['id'], reservation['id'])

    def release(self, context, lease, reservation):
        self._act('release', lease['id'], reservation['id'])

    def details(self, context, reservations):
        return {r.id: {'dummy': True} for r in reservations}

    def _act(self, action, lease_id, reservation_id):
        conf = self.conf.dummy_plugin
        with self._lock:
            key = (action, reservation_id)
            attempt = self._attempts[key] = self._attempts.get(key, 0) + 1
        self._record(action, 'begin', lease_id, reservation_id, attempt)
        delay = float(conf.action_delays.get(action, conf.action_delay))
        if delay:
            time.sleep(delay)
        failing = conf.fail_actions.get(action)
        if failing == 'always':
            self._record(action, 'failed', lease_id, reservation_id, attempt)
            raise PermanentFailure(action=action)
        if failing and self._journal_attempts(action, reservation_id, attempt) <= int(failing):
            self._record(action, 'failed', lease_id, reservation_id, attempt)
            raise TransientFailure(action=action, attempt=attempt)
        self._record(action, 'done', lease_id, reservation_id, attempt)

    def _journal_attempts(self, action, reservation_id, local_attempt):
        """Attempts so far across every process sharing the journal."""
        path = self.conf.dummy_plugin.journal
        if not path:
            return local_attempt
        return sum(1 for entry in read_journal(path)
                   if entry['action'] == action and entry['phase'] == 'begin'
                   and entry['reservation_id'] == reservation_id)

    def _record(self, action, phase, lease_id, reservation_id, attempt):
        path = self.conf.dummy_plugin.journal
        if not path:
            return
        line = json.dumps({'action': action, 'phase': phase, 'lease_id': lease_id,
                           'reservation_id': reservation_id, 'attempt': attempt,
                           'pid': os.getpid(), 'time': time.time()}) + '\n'
        # One write of a short line to an O_APPEND file is atomic between processes.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def read_journal(path):
    if not os.path.exists(path):
        return []
    with open(path) as journal:
        return [json.loads(line) for line in journal if line.strip()]
