"""Fault injection for tests of code that calls a compute driver.

Not used by Climate itself: tests import it (it needs the ``fixtures`` package, a test
requirement). Two parts:

- ``Faults``: planned failures and delays of calls named by a key, and how many calls
  each key had. A driver's calls are keyed by method name; a test double of an HTTP
  service may key its requests otherwise (``tests/fakes/nova_api.py`` uses the
  method and path of each request, with a predicate as the match).
- ``ComputeFaults(driver)``: a ``fixtures.Fixture`` making the driver's own calls
  (those of ``climate.compute.base.ComputeDriver``, trusts included) go through a
  ``Faults``. While it is set up the driver's class is a subclass wrapping those
  methods, so the driver's internal calls, copies made meanwhile (the Nova driver's
  ``acting_for``) and views calling it (the memory driver's) are covered too::

      with fixture.ComputeFaults(driver) as faults:      # or self.useFixture(…)
          faults.inject_failure('add_host', times=2)       # retryable ComputeError
          faults.inject_failure('remove_host', after=True) # done, then the answer lost
          faults.inject_delay('list_servers_on_host', 0.5)
          ...
          assert faults.call_count('add_host') == 3
"""

import dataclasses
import functools
import threading
import time

import fixtures

from climate.compute import base
from climate.compute import exceptions

#: The driver methods ``ComputeFaults`` can fail or slow down.
HOOKABLE = frozenset(base.ComputeDriver.__abstractmethods__) | {
    'create_trust', 'delete_trust', 'ensure_server_group', 'delete_server_group'}


@dataclasses.dataclass
class _Planned:
    match: object           # a key, or a predicate on keys
    remaining: int | None   # None: until cleared
    error: object = None    # what make_error turns into the exception to raise
    after: bool = False
    seconds: float = 0.0

    def matches(self, key):
        return self.match(key) if callable(self.match) else self.match == key

    def use(self):
        """Count one use; True when this was the last one."""
        if self.remaining is None:
            return False
        self.remaining -= 1
        return self.remaining <= 0


class Faults:
    """Failures and delays planned for calls, and the number of calls by key.

    A call takes the first planned failure and the first planned delay matching its
    key (each counts down its ``times``), sleeps the delay, then fails before doing
    anything, or after doing its work when the failure says ``after``.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._failures = []
        self._delays = []
        self._calls = {}

    def fail(self, match, error, times=1, after=False):
        """The next ``times`` calls matching ``match`` (a key or a predicate) raise
        ``error``: an exception, or a function of the key returning one."""
        with self._lock:
            self._failures.append(_Planned(match, times, error=error, after=after))

    def delay(self, match, seconds, times=None, replace=False):
        """Calls matching ``match`` take ``seconds`` longer (``times=None``: until
        cleared); ``replace`` drops the delays planned for the same ``match``."""
        with self._lock:
            if replace:
                self._delays = [d for d in self._delays if d.match != match]
            self._delays.append(_Planned(match, times, seconds=seconds))

    def clear(self):
        with self._lock:
            self._failures.clear()
            self._delays.clear()

    def call_count(self, key):
        with self._lock:
            return self._calls.get(key, 0)

    def __len__(self):
        """How many failures and delays are still planned."""
        with self._lock:
            return len(self._failures) + len(self._delays)

    def call(self, key, function, *args, **kwargs):
        """``function(*args, **kwargs)`` as a call ``key`` with what is planned."""
        failure, seconds = self._take(key)
        if seconds:
            time.sleep(seconds)
        if failure is not None and not failure.after:
            raise self._error(failure, key)
        result = function(*args, **kwargs)
        if failure is not None:
            raise self._error(failure, key)
        return result

    def _take(self, key):
        with self._lock:
            self._calls[key] = self._calls.get(key, 0) + 1
            failure = self._first(self._failures, key)
            delay = self._first(self._delays, key)
            return failure, delay.seconds if delay is not None else 0.0

    @staticmethod
    def _first(planned, key):
        for item in planned:
            if item.matches(key):
                if item.use():
                    planned.remove(item)
                return item
        return None

    @staticmethod
    def _error(failure, key):
        if isinstance(failure.error, BaseException):
            return failure.error
        return failure.error(key)


class ComputeFaults(fixtures.Fixture):
    """Failures and delays of a compute driver's calls (see the module docstring)."""

    def __init__(self, driver):
        super().__init__()
        self.driver = driver
        self.faults = Faults()

    def _setUp(self):
        original = type(self.driver)
        wrapped = {name: self._wrap(name, getattr(original, name))
                   for name in HOOKABLE if hasattr(original, name)}
        self.driver.__class__ = type(original)(
            f'Faulty{original.__name__}', (original,), wrapped)
        self.addCleanup(setattr, self.driver, '__class__', original)
        self.addCleanup(self.faults.clear)

    def _wrap(self, name, method):
        faults = self.faults

        @functools.wraps(method)
        def wrapper(driver, *args, **kwargs):
            return faults.call(name, method, driver, *args, **kwargs)
        return wrapper

    def inject_failure(self, method, times=1, retryable=True, error=None, after=False):
        """The next ``times`` calls of ``method`` raise ``error`` (an exception or an
        exception class), by default a ``ComputeError`` that is ``retryable`` (503) or
        not (400); ``after=True`` performs the call first, like a request whose
        answer is lost."""
        self._check(method)

        def make(key):
            if isinstance(error, type):
                return error(f'injected failure of {key}')
            return exceptions.ComputeError(f'injected failure of {key}',
                                           retryable=retryable,
                                           status_code=503 if retryable else 400)
        self.faults.fail(method, error if isinstance(error, BaseException) else make,
                         times=times, after=after)

    def inject_delay(self, method, seconds, times=None):
        """Calls of ``method`` take ``seconds`` longer (``times=None``: until
        ``clear_faults``); replaces an earlier delay of ``method``."""
        self._check(method)
        self.faults.delay(method, seconds, times=times, replace=True)

    def clear_faults(self):
        self.faults.clear()

    def call_count(self, method):
        """How many calls of ``method`` were made while the fixture was set up."""
        return self.faults.call_count(method)

    @staticmethod
    def _check(method):
        if method not in HOOKABLE:
            raise ValueError(f'{method!r} is not a compute driver method')
