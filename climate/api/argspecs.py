"""Signatures that libraries of the API look up on every request, looked up once.

oslo.policy evaluates each check of a rule through ``_checks._check``, which asks
``inspect.getfullargspec`` of the check's ``__call__`` whether it takes the rule's
name (the current signature) or not (the legacy one): ~0.1 ms of CPU per check, for
an answer that depends on the check's class only. Pecan asks the argument spec of the
controller it calls (``pecan.util``, through ``pecan.compat.getargspec``, which also
builds a namedtuple class each time). :func:`install` replaces both with versions
that remember the answer per function; what they return and call is unchanged.
"""

import inspect

from oslo_policy import _checks
from pecan import util as pecan_util

_takes_rule = {}
_pecan_specs = {}


def _check(rule, target, creds, enforcer, current_rule, _original=_checks._check):
    """``oslo_policy._checks._check``, with ``getfullargspec`` asked once per
    ``__call__`` function; a callable that is not a bound method goes to the
    original."""
    call = rule.__call__
    function = getattr(call, '__func__', None)
    if function is None:
        return _original(rule, target, creds, enforcer, current_rule)
    takes = _takes_rule.get(function)
    if takes is None:
        # oslo.policy's own test: a bound method's args include self.
        takes = _takes_rule[function] = len(inspect.getfullargspec(call).args) > 4
    if takes:
        return rule(target, creds, enforcer, current_rule)
    return rule(target, creds, enforcer)


def _pecan_argspec(func, _original=pecan_util._getargspec):
    """``pecan.compat.getargspec``, once per function (a bound method's spec is its
    function's: both list ``self``)."""
    key = getattr(func, '__func__', func)
    try:
        spec = _pecan_specs.get(key)
    except TypeError:   # unhashable
        return _original(func)
    if spec is None:
        spec = _pecan_specs[key] = _original(func)
    return spec


def install():
    """Put the remembering versions in place (idempotent)."""
    if _checks._check is not _check and \
            getattr(_checks._check, '__module__', None) == _checks.__name__:
        _checks._check = _check
    if pecan_util._getargspec is not _pecan_argspec:
        pecan_util._getargspec = _pecan_argspec


install()
