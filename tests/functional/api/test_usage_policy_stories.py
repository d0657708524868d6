"""The gabbi stories of ``gabbits-policy/``: usage policy on the wire (403 refusals
with their rule and numbers, ``POST /v1/leases/check``, ``GET /v1/usage``), with the
API and a manager in this process whose ``[enforcement]`` enables the rules, on every
database backend; ``gabbits-capacity-policy/`` the quotas of capacity reservations
on the real host and capacity plugins (SQLite: their SQL is checked on every backend
in tests/functional/enforcement/test_capacity_quotas.py)."""

import pytest

from tests.functional.api import conftest as api
from tests.functional.api import stories
from tests.functional.api import test_stories

ENFORCEMENT = {
    'enforcement.enabled_filters': ['MaxLeaseDurationFilter',
                                    'MaxConcurrentLeasesFilter', 'QuotaFilter'],
    'enforcement.max_lease_duration': 7 * 24 * 3600,
    'enforcement.max_concurrent_leases': 2,
    'enforcement.quota_limits': {'hosts': '2', 'host_hours': '100'},
    'enforcement.usage_period': 'day',
}


@pytest.fixture(scope='class')
def story_policy_api(class_migrated_database):
    conf = api.make_conf(**ENFORCEMENT)
    with api.local_server(conf) as server:
        yield server
    conf.reset()


CAPACITY_ENFORCEMENT = {
    'enforcement.enabled_filters': ['QuotaFilter'],
    'enforcement.quota_limits': {'vcpus': '8', 'vcpu_hours': '100'},
    'enforcement.usage_period': 'day',
}


@pytest.fixture(scope='class')
def story_capacity_policy_api(class_migrated_database):
    yield from test_stories.capacity_server(api.make_conf(**CAPACITY_ENFORCEMENT))


for _name in stories.story_files('gabbits-capacity-policy'):
    _cls = test_stories.story_class('gabbits-capacity-policy', _name,
                                    'story_capacity_policy_api', 'WithCapacityQuotas',
                                    databases=['sqlite'])
    globals()[_cls.__name__] = _cls

for _name in stories.story_files('gabbits-policy'):
    _cls = test_stories.story_class('gabbits-policy', _name, 'story_policy_api',
                                    'WithUsagePolicy')
    globals()[_cls.__name__] = _cls
