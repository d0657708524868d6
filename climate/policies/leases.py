"""Who may read and change leases: the lease's project (readers read, members write)
and admins. ``get_all_projects`` lets a caller list every project's leases."""

from climate.policies import base

rules = [
    base.documented('leases', 'get', base.PROJECT_READER_OR_ADMIN,
                    'List leases, or show one.',
                    [{'path': '/v1/leases', 'method': 'GET'},
                     {'path': '/v1/leases/{lease_id}', 'method': 'GET'}]),
    base.documented('leases', 'post', base.PROJECT_MEMBER_OR_ADMIN,
                    'Create a lease.',
                    [{'path': '/v1/leases', 'method': 'POST'}]),
    base.documented('leases', 'put', base.PROJECT_MEMBER_OR_ADMIN,
                    'Update a lease.',
                    [{'path': '/v1/leases/{lease_id}', 'method': 'PUT'}]),
    base.documented('leases', 'delete', base.PROJECT_MEMBER_OR_ADMIN,
                    'Delete a lease.',
                    [{'path': '/v1/leases/{lease_id}', 'method': 'DELETE'}]),
    base.documented('leases', 'get_all_projects', base.ADMIN,
                    'List the leases of every project (or of the project named by '
                    'the project_id filter) instead of only the caller\'s.',
                    [{'path': '/v1/leases', 'method': 'GET'}], blazar=False),
]


def list_rules():
    return rules
