"""Lease status writes racing through two nodes of a Galera cluster.

An update and a delete of one lease, served by managers writing through different
nodes, both run their conditional status UPDATE on their own node; the one whose
commit comes second fails certification (or is aborted by the winner's replicated
write) with error 1213, oslo.db's DBDeadlock. The lease service must end such a loser
as the ordinary 409 it would get on one database, never as a 500.

The race is made deterministic: just before this process's transaction commits
through node 1, the other request's write commits through node 2.
"""

import pytest
import sqlalchemy as sa

from climate import exceptions
from climate.db import api as db_api
from tests import backends
from tests.functional.manager.conftest import lease_body


@pytest.fixture
def database(tmp_path):
    """Overrides the per-backend ``database``: created through Galera's first node,
    which Climate's transactions use; ``node_urls`` reach it on every node."""
    backends.check(backends.GALERA, pytest.skip, pytest.fail)
    db = backends.GaleraDatabase(str(tmp_path))
    yield db
    db.drop()


@pytest.fixture
def second_node(migrated_database):
    engine = sa.create_engine(migrated_database.node_urls[1], connect_args={
        'init_command': 'SET SESSION wsrep_sync_wait = 1'})
    yield engine
    engine.dispose()


class CommitRace:
    """Once armed, commits ``statement`` through the other node just before the
    next commit of Climate's engine, and counts the commits that failed."""

    def __init__(self, other_engine):
        self.other = other_engine
        self.statement = None
        self.raced = 0
        self.deadlocks = 0
        self.engine = db_api.get_context_manager().writer.get_engine()
        sa.event.listen(self.engine, 'commit', self._before_commit)
        sa.event.listen(self.engine, 'handle_error', self._on_error)

    def arm(self, statement, **params):
        self.statement = (sa.text(statement), params)

    def _before_commit(self, conn):
        if self.statement is None:
            return
        statement, self.statement = self.statement, None
        with self.other.begin() as other:
            self.raced += other.execute(*statement).rowcount

    def _on_error(self, context):
        if '1213' in str(context.original_exception):
            self.deadlocks += 1

    def close(self):
        sa.event.remove(self.engine, 'commit', self._before_commit)
        sa.event.remove(self.engine, 'handle_error', self._on_error)


@pytest.fixture
def race(second_node):
    race = CommitRace(second_node)
    yield race
    race.close()


def test_update_losing_to_a_delete_on_another_node_is_a_409(service, ctx, race):
    lease = service.create_lease(ctx, lease_body('2099-01-01 10:00', '2099-01-01 12:00'))
    race.arm("UPDATE leases SET status = 'DELETING' WHERE id = :id AND status = "
             "'PENDING'", id=lease['id'])
    with pytest.raises(exceptions.InvalidStatus) as err:
        service.update_lease(ctx, lease['id'], {'end_date': '2099-01-01 13:00'})
    assert err.value.code == 409
    assert race.raced == 1 and race.deadlocks >= 1  # the race did happen
    assert service.get_lease(ctx, lease['id'])['status'] == 'DELETING'


def test_delete_losing_to_an_update_on_another_node_is_a_409(service, ctx, race):
    lease = service.create_lease(ctx, lease_body('2099-01-01 10:00', '2099-01-01 12:00'))
    race.arm("UPDATE leases SET status = 'UPDATING' WHERE id = :id AND status = "
             "'PENDING'", id=lease['id'])
    with pytest.raises(exceptions.InvalidStatus) as err:
        service.delete_lease(ctx, lease['id'])
    assert err.value.code == 409
    assert race.raced == 1 and race.deadlocks >= 1
    assert service.get_lease(ctx, lease['id'])['status'] == 'UPDATING'
