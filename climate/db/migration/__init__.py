"""Schema migrations (alembic) and the operations behind ``climate-db-manage``."""

import os

from alembic import command as alembic_command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

from climate.db import api as db_api

ALEMBIC_DIR = os.path.join(os.path.dirname(__file__), 'alembic')


def _config(connection=None, stdout=None):
    kwargs = {'stdout': stdout} if stdout is not None else {}
    config = alembic_config.Config(os.path.join(os.path.dirname(__file__), 'alembic.ini'),
                                   **kwargs)
    config.set_main_option('script_location', ALEMBIC_DIR)
    config.attributes['connection'] = connection
    return config


def _run(fn, engine=None, *args, stdout=None, **kwargs):
    engine = engine or db_api.get_engine()
    with engine.begin() as connection:
        return fn(_config(connection, stdout), *args, **kwargs)


def upgrade(revision='head', engine=None):
    """Apply migrations up to ``revision``."""
    _run(alembic_command.upgrade, engine, revision)


def downgrade(revision, engine=None):
    _run(alembic_command.downgrade, engine, revision)


def version(engine=None):
    """The revision the database is at (``None`` for an empty database)."""
    engine = engine or db_api.get_engine()
    with engine.connect() as connection:
        return alembic_migration.MigrationContext.configure(connection).get_current_revision()


def current(engine=None, stdout=None, verbose=False):
    _run(alembic_command.current, engine, stdout=stdout, verbose=verbose)


def history(engine=None, stdout=None, verbose=False):
    alembic_command.history(_config(stdout=stdout), verbose=verbose)


def revision(message, autogenerate=False, engine=None, stdout=None):
    """Write a new migration script; with ``autogenerate``, diff models and database."""
    if autogenerate:
        return _run(alembic_command.revision, engine, stdout=stdout, message=message,
                    autogenerate=True)
    return alembic_command.revision(_config(stdout=stdout), message=message)


def heads():
    return alembic_script.ScriptDirectory.from_config(_config()).get_heads()
