"""Who may ask about usage policy: a project's members may ask whether a lease would
be accepted (as they may create one), its readers see its usage and limits, and
admins any project's."""

from climate.policies import base

rules = [
    base.documented('leases', 'check', base.PROJECT_MEMBER_OR_ADMIN,
                    'Ask whether a lease would be accepted, without creating it.',
                    [{'path': '/v1/leases/check', 'method': 'POST'}], blazar=False),
    base.documented('usage', 'get', base.PROJECT_READER_OR_ADMIN,
                    'Show the usage and limits of the caller\'s project over a window.',
                    [{'path': '/v1/usage', 'method': 'GET'}], blazar=False),
    base.documented('usage', 'get_all_projects', base.ADMIN,
                    'Show the usage and limits of any project (project_id query).',
                    [{'path': '/v1/usage', 'method': 'GET'}], blazar=False),
]


def list_rules():
    return rules
