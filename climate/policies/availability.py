"""Who may ask when hosts are free: any reader of a project (counts only, and busy
blocks with their own leases named); admins also see which hosts, and every lease."""

from climate.policies import base

SEARCH = '/v1/availability'
BUSY = '/v1/availability/busy'

rules = [
    base.documented('availability', 'get', base.PROJECT_READER_OR_ADMIN,
                    'Search the earliest windows a reservation would be accepted in, '
                    'and list busy intervals of hosts.',
                    [{'path': SEARCH, 'method': 'GET'}, {'path': BUSY, 'method': 'GET'}],
                    blazar=False),
    base.documented('availability', 'get_hosts', base.ADMIN,
                    'See which hosts are free in each window found, host names in the '
                    'busy listing, and the lease id of every busy interval (others '
                    'see their own project\'s lease ids only).',
                    [{'path': SEARCH, 'method': 'GET'}, {'path': BUSY, 'method': 'GET'}],
                    blazar=False),
]


def list_rules():
    return rules
