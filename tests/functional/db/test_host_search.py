"""The free-host search (climate.db.host_search) as a resource type other than
physical:host would call it, on each backend."""

import datetime

from oslo_db.sqlalchemy import enginefacade
import pytest

from climate import exceptions
from climate.db import api as db_api
from climate.db import claims
from climate.db import host_search
from climate.db import hosts as host_db
from climate.db import models
from climate.plugins.physical_host import requirements

H = models.ComputeHost.__table__
HOUR = datetime.timedelta(hours=1)
START = datetime.datetime(2031, 1, 1, tzinfo=datetime.timezone.utc)


@enginefacade.transaction_context_provider
class _Ctx:
    """A transaction context with ``session`` (as Climate's RequestContext has)."""


def _enroll(name, resource_type, **capabilities):
    context = _Ctx()
    values = {key: (value, requirements.as_number(value))
              for key, value in capabilities.items()}
    ids = host_db.ensure_properties(context, resource_type, values)
    inventory = dict.fromkeys(host_db.INVENTORY_COLUMNS)
    inventory.update(hypervisor_hostname=name, service_name=name, vcpus=4,
                     memory_mb=1024, local_gb=10)
    return host_db.create(context, inventory, values, ids)


def _clauses(text, resource_type):
    return [host_search.requirement_clause(r, resource_type, requirements.NUMERIC_FIELDS,
                                           requirements.TEXT_FIELDS)
            for r in requirements.parse('resource_properties', text)]


def _search(clauses, limit=10, **kwargs):
    return host_search.find_free_hosts(_Ctx(), START, START + HOUR, clauses, limit,
                                       **kwargs)


def test_capabilities_are_looked_up_among_the_given_resource_type(migrated_database):
    gpu = _enroll('compute-gpu', 'physical:host', gpu='true')
    other = _enroll('compute-other', 'example:slice', gpu='true')
    wanted = '["==", "$gpu", "true"]'
    assert [c.host_id for c in _search(_clauses(wanted, 'physical:host'))] == [gpu]
    assert [c.host_id for c in _search(_clauses(wanted, 'example:slice'))] == [other]
    assert host_db.known_properties(_Ctx(), 'example:slice', {'gpu', 'ssd'}) == {'gpu'}


def test_a_caller_clause_may_use_the_widened_window(migrated_database):
    """A resource type adds its own condition on hosts; here: created before the end
    of the window widened by the cleaning time."""
    first = _enroll('compute-1', 'physical:host')
    before_end = H.c.created_at < host_search.WINDOW_HI
    assert [c.host_id for c in _search([before_end])] == [first]
    too_early = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    found = host_search.find_free_hosts(_Ctx(), too_early, too_early + HOUR,
                                        [before_end], 10)
    assert found == []


def test_candidates_feed_the_claim_once(migrated_database):
    _enroll('compute-1', 'physical:host')
    found = _search([], strategy=host_search.RANDOM)
    assert isinstance(found[0], claims.HostGeneration)
    assert found[0].generation == 0 and found[0].service_name == 'compute-1'
    context = _Ctx()
    with db_api.writer.using(context):
        claims.claim(context, found, datetime.timedelta(hours=1))
    context = _Ctx()
    with pytest.raises(exceptions.ClaimConflict), db_api.writer.using(context):
        claims.claim(context, found, datetime.timedelta(hours=1))
    assert _search([])[0].generation == 1
