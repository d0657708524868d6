"""The building-block rules other policies refer to (Blazar's names and defaults).

One difference: ``admin`` is ``role:admin`` where Blazar has ``is_admin:True or
role:admin``. The API derives a request's ``is_admin`` from this very rule, so the
flag adds nothing (and oslo.context deprecates it as a policy value); a Blazar policy
file's ``is_admin:True or role:admin`` still admits admins by their role.
"""

from oslo_policy import policy

ADMIN = 'rule:admin'
PROJECT_MEMBER_OR_ADMIN = 'rule:project_member_or_admin'
PROJECT_READER_OR_ADMIN = 'rule:project_reader_or_admin'

rules = [
    policy.RuleDefault('admin', 'role:admin',
                       description='An administrator of the cloud.'),
    policy.RuleDefault('admin_or_owner', 'rule:admin or project_id:%(project_id)s',
                       description='Deprecated: an administrator or anybody in the '
                                   'owning project. Kept for policy files that refer '
                                   'to it.'),
    policy.RuleDefault('project_member_api', 'role:member and project_id:%(project_id)s',
                       description='A member of the owning project.'),
    policy.RuleDefault('project_reader_api', 'role:reader and project_id:%(project_id)s',
                       description='A reader of the owning project.'),
    policy.RuleDefault('project_member_or_admin', 'rule:project_member_api or rule:admin',
                       description='A member of the owning project, or an admin.'),
    policy.RuleDefault('project_reader_or_admin', 'rule:project_reader_api or rule:admin',
                       description='A reader of the owning project, or an admin.'),
]


def list_rules():
    return rules


def documented(resource, action, check_str, description, operations, blazar=True):
    """A DocumentedRuleDefault ``climate:<resource>:<action>``; with ``blazar``, it
    also honours the rule under Blazar's name (``blazar:…``) in existing policy files."""
    alias = None if not blazar else policy.DeprecatedRule(
        name=f'blazar:{resource}:{action}', check_str=check_str,
        deprecated_reason='Climate names its rules climate:*; the blazar:* name is '
                          'read from existing policy files for migration.',
        deprecated_since='2025.1')
    return policy.DocumentedRuleDefault(
        name=f'climate:{resource}:{action}', check_str=check_str,
        description=description, operations=operations, scope_types=['project'],
        deprecated_rule=alias)
