"""``climate-db-manage``: create and migrate Climate's database.

    climate-db-manage [--config-file climate.conf] upgrade [REVISION]
    climate-db-manage current | history [--verbose]
    climate-db-manage revision -m MESSAGE [--autogenerate]
"""

import sys

from oslo_config import cfg

from climate.common import service
from climate.db import migration

CONF = cfg.CONF


def _upgrade():
    migration.upgrade(CONF.command.revision)
    print(f'Database is at revision {migration.version()}.')


def _current():
    migration.current(verbose=CONF.command.verbose)


def _history():
    migration.history(verbose=CONF.command.verbose)


def _revision():
    migration.revision(CONF.command.message, autogenerate=CONF.command.autogenerate)


def _add_commands(subparsers):
    parser = subparsers.add_parser('upgrade', help='Apply migrations (default: head).')
    parser.add_argument('revision', nargs='?', default='head')
    parser.set_defaults(func=_upgrade)

    for name, func, text in (('current', _current, 'Show the current revision.'),
                             ('history', _history, 'List the migrations.')):
        parser = subparsers.add_parser(name, help=text)
        parser.add_argument('--verbose', '-v', action='store_true')
        parser.set_defaults(func=func)

    parser = subparsers.add_parser('revision', help='Write a new migration script.')
    parser.add_argument('-m', '--message', required=True)
    parser.add_argument('--autogenerate', action='store_true',
                        help='Diff the models against the database to fill it in.')
    parser.set_defaults(func=_revision)


command_opt = cfg.SubCommandOpt('command', title='Commands', handler=_add_commands,
                                help='What to do with the database.')


def main(argv=None):
    CONF.register_cli_opt(command_opt)
    service.prepare(sys.argv[1:] if argv is None else argv)
    try:
        CONF.command.func()
    except Exception as exc:  # one clear line for operators, not a traceback
        first_line = (str(exc).strip().splitlines() or [''])[0]
        print(f'climate-db-manage: {type(exc).__name__}: {first_line}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
