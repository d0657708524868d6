"""``climate-status upgrade check``: what an operator runs before and after an upgrade.

    climate-status [--config-file climate.conf] upgrade check [--json]

Exit status 0 when every check succeeds, 1 when one warns, 2 when one fails (the
``oslo.upgradecheck`` convention shared by ``nova-status``, ``placement-status``…).
"""

import sys

from oslo_config import cfg
from oslo_policy import opts as policy_opts
from oslo_upgradecheck import common_checks
from oslo_upgradecheck import upgradecheck
import sqlalchemy as sa

from climate import exceptions
import climate.conf  # noqa: F401  (registers every option)
from climate.db import api as db_api
from climate.db import migration
from climate.plugins import loader

CONF = cfg.CONF
Result = upgradecheck.Result
Code = upgradecheck.Code


def _first_line(exc):
    return (str(exc).strip().splitlines() or [''])[0]


class Checks(upgradecheck.UpgradeCommands):

    def __init__(self, conf=CONF):
        self.conf = conf
        self._plugins = None

    def _check_database(self):
        try:
            current, head = migration.version(), migration.heads()[0]
        except Exception as exc:
            return Result(Code.FAILURE, f'Cannot read the database ([database] '
                                        f'connection): {type(exc).__name__}: '
                                        f'{_first_line(exc)}')
        if current == head:
            return Result(Code.SUCCESS, f'The schema is at {head}, the newest migration.')
        found = 'empty' if current is None else f'at {current}'
        return Result(Code.FAILURE, f'The schema is {found}; this release needs {head}. '
                                    f'Run: climate-db-manage upgrade head')

    def _check_charset(self):
        """MySQL/MariaDB: the database, each table and each text column in utf8mb4
        (anything else turns a name outside its character set into an SQL error)."""
        try:
            engine = db_api.get_engine()
            if engine.dialect.name != 'mysql':
                return Result(Code.SUCCESS, f'Not MySQL ({engine.dialect.name}): '
                                            f'every text is Unicode.')
            with engine.connect() as connection:
                wrong = _not_utf8mb4(connection)
        except Exception as exc:
            return Result(Code.FAILURE, f'Cannot read the database ([database] '
                                        f'connection): {type(exc).__name__}: '
                                        f'{_first_line(exc)}')
        if not wrong:
            return Result(Code.SUCCESS, 'The database and its tables are in utf8mb4.')
        return Result(Code.FAILURE, 'Not in utf8mb4: ' + '; '.join(wrong) +
                      '. Run: climate-db-manage upgrade head (migration 0005 converts '
                      'them).')

    def _check_plugins(self):
        try:
            self._plugins = loader.load_plugins(self.conf)
        except exceptions.ClimateException as exc:
            return Result(Code.FAILURE, f'[manager] plugins: {exc}')
        if not self._plugins:
            return Result(Code.WARNING, '[manager] plugins is empty: no resource type '
                                        'can be reserved.')
        return Result(Code.SUCCESS, 'Loaded: ' + ', '.join(sorted(self._plugins)))

    def _check_trusts(self):
        owners = [plugin for plugin in (self._plugins or {}).values()
                  if plugin.acts_for_owner]
        if not owners:
            return Result(Code.SUCCESS, 'No loaded plugin acts for lease owners.')
        if all(plugin.compute.supports_trusts for plugin in owners):
            return Result(Code.SUCCESS, 'The compute account can act through Keystone '
                                        'trusts.')
        return Result(Code.WARNING,
                      f'[nova] auth_type {self.conf.nova.auth_type} cannot use Keystone '
                      f'trusts: snapshots of server leases are made with Climate\'s own '
                      f'account (owned by its project, shared with the server\'s). Use '
                      f'auth_type = password for the [nova] account.')

    def _check_reservation_units(self):
        """No server holds a capacity reservation's unit in Placement beyond those
        the reservation offers on its node. Placement's default server-side retry
        lets racing claims through (install guide, step 7); this finds the result,
        as it cannot read Placement's configuration."""
        # The plugins share the manager's one compute driver; a plugin may keep it
        # on a part of itself (flavor:instance does), so any one found will do.
        driver = next((plugin.compute for plugin in (self._plugins or {}).values()
                       if getattr(plugin, 'compute', None) is not None), None)
        if driver is None:
            return Result(Code.SUCCESS, 'No loaded plugin acts on Nova.')
        try:
            over = driver.overclaimed_units()
        except Exception as exc:
            return Result(Code.WARNING, f'Cannot read Placement\'s reservation units: '
                                        f'{type(exc).__name__}: {_first_line(exc)}')
        if not over:
            return Result(Code.SUCCESS, 'No reservation provider in Placement holds '
                                        'more units than it offers.')
        return Result(Code.FAILURE,
                      'Servers hold more units than their reservation offers: ' +
                      '; '.join(f'{name} {used} of {total} {resource_class}'
                                for name, resource_class, used, total in over) +
                      '. Placement let racing boots through: set [placement] '
                      'allocation_conflict_retry_count = 1 in placement.conf (see '
                      'the install guide, step 7).')

    def _check_policy_file(self):
        return common_checks.check_policy_json(self, self.conf)

    _upgrade_checks = (
        ('Database schema', _check_database),
        ('Database character set', _check_charset),
        ('Resource plugins', _check_plugins),
        ('Keystone trusts', _check_trusts),
        ('Reservation units in Placement', _check_reservation_units),
        ('Policy file', _check_policy_file),
    )


def _not_utf8mb4(connection):
    """What in the current MySQL database is not utf8mb4, one phrase each."""
    wrong = []
    database, default = connection.execute(sa.text(
        'SELECT schema_name, default_character_set_name FROM information_schema.schemata '
        'WHERE schema_name = DATABASE()')).one()
    if default != 'utf8mb4':
        wrong.append(f'database {database} (default {default})')
    tables = connection.execute(sa.text(
        'SELECT t.table_name, c.character_set_name FROM information_schema.tables t '
        'JOIN information_schema.collation_character_set_applicability c '
        'ON c.collation_name = t.table_collation '
        "WHERE t.table_schema = DATABASE() AND t.table_type = 'BASE TABLE' "
        "AND c.character_set_name <> 'utf8mb4' ORDER BY t.table_name")).all()
    wrong.extend(f'table {name} ({charset})' for name, charset in tables)
    columns = connection.execute(sa.text(
        'SELECT table_name, column_name, character_set_name '
        'FROM information_schema.columns WHERE table_schema = DATABASE() '
        "AND character_set_name IS NOT NULL AND character_set_name <> 'utf8mb4' "
        'ORDER BY table_name, ordinal_position')).all()
    bad_tables = {name for name, _ in tables}
    wrong.extend(f'column {table}.{column} ({charset})'
                 for table, column, charset in columns if table not in bad_tables)
    return wrong


def main(argv=None):
    policy_opts.set_defaults(CONF)
    return upgradecheck.main(CONF, project='climate', upgrade_command=Checks(),
                             argv=sys.argv[1:] if argv is None else argv)


if __name__ == '__main__':
    sys.exit(main())
