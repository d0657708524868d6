"""``climate-status upgrade check``: the real command on a configuration file, against
each database backend; exit status 0 (all good), 1 (a warning) or 2 (a failure)."""

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from climate.db import migration

OK, WARNING, FAILURE = 0, 1, 2


def _check(tmp_path, database_url, extra='', compute='[compute]\ndriver = memory\n'):
    config = tmp_path / 'climate.conf'
    config.write_text(f'[database]\nconnection = {database_url}\n{compute}{extra}')
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'climate-status'),
         '--config-file', str(config), 'upgrade', 'check', '--json'],
        capture_output=True, text=True, timeout=120)
    checks = {c['check']: (c['result'], c['details'])
              for c in json.loads(result.stdout)['checks']}
    return result.returncode, checks


PLUGINS = '[manager]\nplugins = virtual.instance.plugin, physical.host.plugin\n'


def test_an_unmigrated_database_fails_with_what_to_run(database, tmp_path):
    code, checks = _check(tmp_path, database.url, PLUGINS)
    assert code == FAILURE
    result, details = checks['Database schema']
    assert result == FAILURE
    assert 'is empty' in details and 'climate-db-manage upgrade head' in details

    migration.upgrade('0002', engine=database.engine)
    code, checks = _check(tmp_path, database.url, PLUGINS)
    assert code == FAILURE
    assert f'at 0002; this release needs {migration.heads()[0]}' in \
        checks['Database schema'][1]


def test_a_migrated_database_and_loadable_plugins_pass(migrated_database, tmp_path):
    code, checks = _check(tmp_path, migrated_database.url, PLUGINS)
    assert code == OK, checks
    assert checks['Resource plugins'] == (OK, 'Loaded: physical:host, virtual:instance')


def test_an_unknown_plugin_fails(migrated_database, tmp_path):
    code, checks = _check(tmp_path, migrated_database.url,
                          '[manager]\nplugins = no.such.plugin\n')
    assert code == FAILURE
    assert 'no.such.plugin' in checks['Resource plugins'][1]


def test_a_nova_account_that_cannot_use_trusts_warns(migrated_database, tmp_path,
                                                     fake_nova):
    nova = (f'[compute]\ndriver = nova\n[nova]\nauth_type = v3applicationcredential\n'
            f'auth_url = {fake_nova.identity_url}\napplication_credential_id = app\n'
            f'application_credential_secret = secret\n')
    code, checks = _check(tmp_path, migrated_database.url, PLUGINS, compute=nova)
    assert code == WARNING, checks
    result, details = checks['Keystone trusts']
    assert result == WARNING
    assert 'auth_type = password' in details


def test_servers_holding_more_reservation_units_than_offered_fail(migrated_database,
                                                                  tmp_path, fake_nova):
    """Placement's default server-side retry lets racing boots claim more units of a
    capacity reservation than its node offers: the check finds such a provider and
    says what to set."""
    resource_class = 'CUSTOM_RESERVATION_R1'
    node = fake_nova.add_hypervisor('cmp1')
    with fake_nova.lock:
        child = fake_nova.placement.add_provider(f'climate:{resource_class}@cmp1',
                                                 parent=node)
        fake_nova.placement.offer(child, resource_class, 2)
        fake_nova.placement.allocate(child, resource_class, 2)
    nova = '[compute]\ndriver = nova\n' + fake_nova.config_text()
    plugins = PLUGINS.rstrip('\n') + ', flavor.instance.plugin\n'
    code, checks = _check(tmp_path, migrated_database.url, plugins, compute=nova)
    assert code == OK, checks
    assert checks['Reservation units in Placement'] == (
        OK, 'No reservation provider in Placement holds more units than it offers.')

    with fake_nova.lock:
        fake_nova.placement.allocate(child, resource_class, 3)
    code, checks = _check(tmp_path, migrated_database.url, plugins, compute=nova)
    assert code == FAILURE
    result, details = checks['Reservation units in Placement']
    assert result == FAILURE
    assert f'climate:{resource_class}@cmp1 3 of 2 {resource_class}' in details
    assert 'allocation_conflict_retry_count = 1' in details


def test_a_table_or_database_not_in_utf8mb4_fails(database, tmp_path):
    if database.backend != 'mysql':
        pytest.skip('MySQL/MariaDB only')
    # A database of its own (not a copy of the shared template): the test changes
    # its character sets.
    migration.upgrade('head', engine=database.engine)
    migrated_database = database
    code, checks = _check(tmp_path, migrated_database.url, PLUGINS)
    assert checks['Database character set'] == (
        OK, 'The database and its tables are in utf8mb4.')
    with migrated_database.engine.begin() as connection:
        connection.execute(sa.text('CREATE TABLE legacy (name VARCHAR(20)) '
                                   'CHARACTER SET latin1'))
        connection.execute(sa.text(f'ALTER DATABASE {migrated_database.name} '
                                   'CHARACTER SET latin1'))
        connection.execute(sa.text('ALTER TABLE leases MODIFY name VARCHAR(80) '
                                   'CHARACTER SET latin1 NOT NULL'))
    code, checks = _check(tmp_path, migrated_database.url, PLUGINS)
    assert code == FAILURE
    result, details = checks['Database character set']
    assert result == FAILURE
    assert (f'database {migrated_database.name} (default latin1); table legacy '
            f'(latin1); column leases.name (latin1)') in details
    assert 'climate-db-manage upgrade head' in details
