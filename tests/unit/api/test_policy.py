"""The default policy: who may do what, and Blazar's rule names in policy files."""

from oslo_policy import opts as policy_opts
import pytest

from climate import context as climate_context
from climate import exceptions
from climate.api import policy


def ctx(roles, project='p1', user='u1'):
    return climate_context.RequestContext(user_id=user, project_id=project, roles=roles)


@pytest.fixture
def enforcer(conf):
    return policy.make_enforcer(conf)


OWN = {'project_id': 'p1', 'user_id': 'u1'}
OTHER = {'project_id': 'p2', 'user_id': 'u2'}


@pytest.mark.parametrize('rule,roles,target,allowed', [
    ('climate:leases:get', ['reader'], OWN, True),
    ('climate:leases:get', ['member'], OWN, False),
    ('climate:leases:get', ['reader'], OTHER, False),
    ('climate:leases:get', ['admin'], OTHER, True),
    ('climate:leases:post', ['member'], OWN, True),
    ('climate:leases:post', ['reader'], OWN, False),
    ('climate:leases:put', ['member'], OTHER, False),
    ('climate:leases:delete', ['member', 'reader'], OWN, True),
    ('climate:leases:get_all_projects', ['member', 'reader'], OWN, False),
    ('climate:leases:get_all_projects', ['admin'], OWN, True),
    ('climate:oshosts:get', ['member', 'reader'], OWN, False),
    ('climate:oshosts:post', ['admin'], OWN, True),
    ('climate:oshosts:update_resource_properties', ['admin'], OWN, True),
    ('climate:oshosts:get_allocations', ['reader'], OWN, False),
])
def test_defaults(enforcer, rule, roles, target, allowed):
    assert policy.check(enforcer, rule, target, ctx(roles)) is allowed


def test_authorize_raises_403_naming_the_rule(enforcer):
    with pytest.raises(exceptions.PolicyNotAuthorized) as raised:
        policy.authorize(enforcer, 'climate:leases:put', OTHER, ctx(['member']))
    assert raised.value.code == 403
    assert str(raised.value) == \
        "Policy doesn't allow climate:leases:put to be performed"


def test_a_system_scoped_caller_is_refused_not_crashed(enforcer):
    system = climate_context.RequestContext(user_id='u', system_scope='all',
                                            roles=['admin'])
    assert policy.check(enforcer, 'climate:leases:get', OWN, system) is False


def test_blazar_rule_names_in_a_policy_file_still_apply(conf, tmp_path):
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"blazar:oshosts:get": "role:reader"\n')
    policy_opts.set_defaults(conf, policy_file=str(policy_file))
    enforcer = policy.make_enforcer(conf)
    assert policy.check(enforcer, 'climate:oshosts:get', OWN, ctx(['reader']))


def test_climate_rule_names_in_a_policy_file(conf, tmp_path):
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"climate:leases:post": "role:admin"\n')
    policy_opts.set_defaults(conf, policy_file=str(policy_file))
    enforcer = policy.make_enforcer(conf)
    assert not policy.check(enforcer, 'climate:leases:post', OWN, ctx(['member']))


def test_blazars_admin_rule_in_a_policy_file_still_admits_admins_only(conf, tmp_path):
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"admin": "is_admin:True or role:admin"\n')
    policy_opts.set_defaults(conf, policy_file=str(policy_file))
    enforcer = policy.make_enforcer(conf)
    member = ctx(['member'])
    member.is_admin = False
    assert policy.check(enforcer, 'climate:oshosts:post', OWN, ctx(['admin']))
    assert not policy.check(enforcer, 'climate:oshosts:post', OWN, member)
