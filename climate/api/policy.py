"""Policy enforcement for the API: one oslo.policy Enforcer per application.

``get_enforcer`` is also the ``oslo.policy.enforcer`` entry point, so
``oslopolicy-policy-generator --namespace climate`` shows the effective policy.

oslo.policy evaluates every check of a rule through ``_checks._check``, which asks
``inspect.getfullargspec`` of the check's ``__call__`` each time whether it takes the
rule's name (its newer signature) or not (the legacy one): ~0.5 ms of CPU per
authorization, two per request, for an answer that depends on the check's class
only. Importing this module replaces that function with one that remembers the
answer per ``__call__`` function; what it calls, with which arguments, is unchanged.
"""

import inspect

from oslo_config import cfg
from oslo_policy import _checks
from oslo_policy import policy as oslo_policy

from climate import exceptions
from climate import policies


def make_enforcer(conf):
    enforcer = oslo_policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    return enforcer


def get_enforcer():
    """The enforcer of ``cfg.CONF`` (for the oslo.policy command-line tools)."""
    import climate.conf  # noqa: F401
    cfg.CONF([], project='climate', default_config_files=[])
    return make_enforcer(cfg.CONF)


def check(enforcer, rule, target, context):
    """Whether ``context`` may do ``rule`` on ``target`` (no exception)."""
    try:
        return enforcer.authorize(rule, target, context, do_raise=False)
    except oslo_policy.InvalidScope:
        return False


def authorize(enforcer, rule, target, context):
    """Raise PolicyNotAuthorized (403) unless ``context`` may do ``rule``."""
    if not check(enforcer, rule, target, context):
        raise exceptions.PolicyNotAuthorized(action=rule)


_takes_rule = {}


def _check(rule, target, creds, enforcer, current_rule, _original=_checks._check):
    """``oslo_policy._checks._check``, with ``getfullargspec`` asked once per check
    class (the ``__call__`` function of a bound method); any other callable is
    handed to the original."""
    call = rule.__call__
    function = getattr(call, '__func__', None)
    if function is None:
        return _original(rule, target, creds, enforcer, current_rule)
    takes = _takes_rule.get(function)
    if takes is None:
        # The same test as oslo.policy's: a bound method's args include self.
        takes = _takes_rule[function] = len(inspect.getfullargspec(call).args) > 4
    if takes:
        return rule(target, creds, enforcer, current_rule)
    return rule(target, creds, enforcer)


if getattr(_checks._check, '__module__', None) == _checks.__name__:
    _checks._check = _check
