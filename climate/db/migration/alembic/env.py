"""Alembic environment: runs migrations on the connection climate-db-manage gives it."""

from alembic import context

from climate.db import api as db_api
from climate.db import models

config = context.config


def run_migrations_online():
    connection = config.attributes.get('connection')
    if connection is None:
        with db_api.get_engine().begin() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection):
    context.configure(connection=connection, target_metadata=models.Base.metadata,
                      compare_type=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
