"""Policy enforcement for the API: one oslo.policy Enforcer per application.

``get_enforcer`` is also the ``oslo.policy.enforcer`` entry point, so
``oslopolicy-policy-generator --namespace climate`` shows the effective policy.
"""

from oslo_config import cfg
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
