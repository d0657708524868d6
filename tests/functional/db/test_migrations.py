"""Migrations create exactly the models' schema, step by step, on every backend."""

import os
import subprocess
import sys
import unittest

from oslo_db.sqlalchemy import test_migrations
import pytest
import sqlalchemy as sa

from climate.db import migration
from climate.db import models
from climate.db.migration import charset
from tests import backends


def test_walk_migrations_one_at_a_time(database):
    script = migration.alembic_script.ScriptDirectory.from_config(migration._config())
    revisions = list(reversed(list(script.walk_revisions())))
    assert migration.version(database.engine) is None
    for rev in revisions:
        migration.upgrade(rev.revision, engine=database.engine)
        assert migration.version(database.engine) == rev.revision
    assert migration.version(database.engine) == migration.heads()[0]
    tables = set(sa.inspect(database.engine).get_table_names())
    assert set(models.Base.metadata.tables) <= tables
    # A second upgrade to head is a no-op, not an error.
    migration.upgrade('head', engine=database.engine)


def test_single_head():
    assert len(migration.heads()) == 1, 'merge the alembic branches'


def test_db_manage_command(database, tmp_path):
    """What an operator runs: climate-db-manage upgrade head, then current."""
    config = tmp_path / 'climate.conf'
    config.write_text(f'[database]\nconnection = {database.url}\n')
    run = [sys.executable, '-m', 'climate.cmd.db_manage', '--config-file', str(config)]
    upgraded = subprocess.run(run + ['upgrade', 'head'], capture_output=True, text=True)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f'Database is at revision {migration.heads()[0]}' in upgraded.stdout
    current = subprocess.run(run + ['current'], capture_output=True, text=True)
    assert current.returncode == 0, current.stderr
    assert f'{migration.heads()[0]} (head)' in current.stdout
    history = subprocess.run(run + ['history'], capture_output=True, text=True)
    assert '<base> -> 0001' in history.stdout


def test_db_manage_reports_bad_connection_clearly(tmp_path):
    config = tmp_path / 'climate.conf'
    config.write_text('[database]\nconnection = mysql+pymysql://nobody@127.0.0.1:1/x\n'
                      'max_retries = 0\n')
    result = subprocess.run([sys.executable, '-m', 'climate.cmd.db_manage',
                             '--config-file', str(config), 'upgrade'],
                            capture_output=True, text=True, env=dict(os.environ))
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith('climate-db-manage: DBConnectionError: ')
    assert "Can't connect" in last_line


class _ModelsMigrationsSync(test_migrations.ModelsMigrationsSync):
    """oslo.db's comparison of the migrated schema with ``models.Base.metadata``."""

    BACKEND = None

    def setUp(self):
        super().setUp()
        backends.check(self.BACKEND, self.skipTest, self.fail)
        import tempfile
        self._tmp = tempfile.mkdtemp()
        self._db = backends.ProvisionedDatabase(self.BACKEND, self._tmp)
        self.addCleanup(self._db.drop)

    def get_engine(self):
        return self._db.engine

    def get_metadata(self):
        return models.Base.metadata

    def db_sync(self, engine):
        migration.upgrade('head', engine=engine)


class TestModelsMigrationsSyncSQLite(_ModelsMigrationsSync, unittest.TestCase):
    BACKEND = 'sqlite'


class TestModelsMigrationsSyncMySQL(_ModelsMigrationsSync, unittest.TestCase):
    BACKEND = 'mysql'


class TestModelsMigrationsSyncPostgreSQL(_ModelsMigrationsSync, unittest.TestCase):
    BACKEND = 'postgresql'


def test_0003_moves_the_shelving_state_out_of_resource_properties(database):
    """A server lease made before 0003 keeps its state (what was shelved, snapshots
    made, a delete under way) and no longer shows it as resource_properties."""
    migration.upgrade('0002', engine=database.engine)
    state = ('{"before_end": "snapshot", "deleting": true, "shelve": true, '
             '"snapshots": {"before_end": "img-1"}, "status": "ACTIVE"}')
    with database.engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO leases (id, name, project_id, start_date, end_date, status, "
            "degraded, created_at) VALUES ('l1', 'old', 'p1', :d, :d, 'ACTIVE', :f, :d)"),
            {'d': '2030-01-01 00:00:00', 'f': False})
        connection.execute(sa.text(
            "INSERT INTO reservations (id, lease_id, resource_type, status, "
            "missing_resources, resources_changed, created_at) VALUES "
            "('r1', 'l1', 'virtual:instance', 'active', :f, :f, :d), "
            "('r2', 'l1', 'virtual:instance', 'active', :f, :f, :d)"),
            {'f': False, 'd': '2030-01-01 00:00:00'})
        connection.execute(sa.text(
            "INSERT INTO instance_reservations (id, reservation_id, server_id, on_end, "
            "resource_properties, created_at) VALUES "
            "('i1', 'r1', 's1', 'delete', :state, :d), ('i2', 'r2', NULL, NULL, :filter, :d)"),
            {'state': state, 'filter': '["==", "$gpu", "yes"]', 'd': '2030-01-01 00:00:00'})
    migration.upgrade('0003', engine=database.engine)
    with database.engine.connect() as connection:
        rows = {row.id: row for row in connection.execute(sa.text(
            'SELECT * FROM instance_reservations'))}
    moved = rows['i1']
    assert (moved.before_end, moved.server_status, bool(moved.shelve),
            bool(moved.deleting), moved.before_end_snapshot, moved.on_end_snapshot,
            moved.resource_properties) == ('snapshot', 'ACTIVE', True, True, 'img-1',
                                           None, None)
    # A capacity-mode row (no server) keeps its host filter.
    assert rows['i2'].resource_properties == '["==", "$gpu", "yes"]'


def test_0005_converts_latin1_tables_to_utf8mb4_keeping_their_data(database):
    """A deployment made before the migrations asked for utf8mb4, on a database
    created as latin1: its tables are converted, and names outside Latin-1 work."""
    if database.backend != 'mysql':
        pytest.skip('MySQL/MariaDB only')
    with database.engine.begin() as connection:
        connection.execute(sa.text(f'ALTER DATABASE {database.name} '
                                   'CHARACTER SET latin1 COLLATE latin1_swedish_ci'))
    migration.upgrade('0004', engine=database.engine)
    with database.engine.begin() as connection:
        # What 0001 made before it asked for utf8mb4.
        charset.convert_tables(connection, 'latin1', 'latin1_swedish_ci')
        connection.execute(sa.text(
            "INSERT INTO leases (id, name, project_id, start_date, end_date, status, "
            "degraded, created_at) "
            "VALUES ('l1', 'Café', 'p1', :d, :d, 'ACTIVE', 0, :d)"),
            {'d': '2030-01-01 00:00:00'})
    with database.engine.begin() as connection, pytest.raises(sa.exc.DBAPIError):
        connection.execute(sa.text("UPDATE leases SET name = '🚀' WHERE id = 'l1'"))

    migration.upgrade('head', engine=database.engine)
    with database.engine.begin() as connection:
        collations = dict(connection.execute(sa.text(
            'SELECT table_name, table_collation FROM information_schema.tables '
            'WHERE table_schema = DATABASE()')).all())
        default = connection.execute(sa.text(
            'SELECT default_collation_name FROM information_schema.schemata '
            'WHERE schema_name = DATABASE()')).scalar()
        assert connection.execute(sa.text(
            "SELECT name FROM leases WHERE id = 'l1'")).scalar() == 'Café'
        connection.execute(sa.text("UPDATE leases SET name = '🚀 実験' WHERE id = 'l1'"))
        assert connection.execute(sa.text(
            "SELECT name FROM leases WHERE id = 'l1'")).scalar() == '🚀 実験'
    assert set(collations) >= set(models.Base.metadata.tables) | {'alembic_version'}
    assert set(collations.values()) == {default} == {'utf8mb4_nopad_bin'}


def test_0013_fills_each_hosts_longest_allocation(database):
    """Allocations made before 0013 bound the searches too: each host's
    longest_allocation is its longest whole-host allocation or slice."""
    migration.upgrade('0012', engine=database.engine)
    day = {'d': '2030-01-01 00:00:00', 'f': False, 't': True}
    with database.engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO computehosts (id, hypervisor_hostname, vcpus, memory_mb, "
            "local_gb, reservable, generation, created_at) VALUES "
            "(1, 'c1', 4, 4096, 100, :t, 0, :d), (2, 'c2', 4, 4096, 100, :t, 0, :d), "
            "(3, 'c3', 4, 4096, 100, :t, 0, :d)"), day)
        connection.execute(sa.text(
            "INSERT INTO leases (id, name, project_id, start_date, end_date, status, "
            "degraded, created_at) VALUES ('l1', 'old', 'p1', :d, :d, 'PENDING', :f, :d)"),
            day)
        connection.execute(sa.text(
            "INSERT INTO reservations (id, lease_id, resource_type, status, "
            "missing_resources, resources_changed, created_at) VALUES "
            "('r1', 'l1', 'physical:host', 'pending', :f, :f, :d), "
            "('r2', 'l1', 'virtual:instance', 'pending', :f, :f, :d)"), day)
        connection.execute(sa.text(
            "INSERT INTO computehost_allocations (id, compute_host_id, reservation_id, "
            "start_date, end_date, created_at) VALUES "
            "('a1', 1, 'r1', '2030-01-01 00:00:00', '2030-01-01 03:00:00', :d)"), day)
        connection.execute(sa.text(
            "INSERT INTO capacity_allocations (id, compute_host_id, reservation_id, "
            "instances, vcpus, memory_mb, disk_gb, start_date, end_date, created_at) "
            "VALUES ('s1', 2, 'r2', 1, 1, 512, 10, '2030-01-01 00:00:00', "
            "'2030-01-01 01:00:00', :d), ('s2', 2, 'r2', 1, 1, 512, 10, "
            "'2030-01-02 00:00:00', '2030-01-04 12:00:00', :d), ('s3', 1, 'r2', 1, 1, "
            "512, 10, '2030-01-05 00:00:00', '2030-01-05 00:30:00', :d)"), day)
    migration.upgrade('0013', engine=database.engine)
    with database.engine.connect() as connection:
        longest = dict(connection.execute(sa.text(
            'SELECT id, longest_allocation FROM computehosts')).all())
    assert longest == {1: 3 * 3600, 2: 60 * 3600, 3: 0}
