"""Transactions: oslo.db's enginefacade, configured from ``[database]``.

Code that touches the database decorates a function with ``@reader`` or ``@writer``
(or uses ``with writer.using(context)``); the session is ``context.session``.
``get_context_manager().patch_factory`` lets tests and tools point it elsewhere.
"""

from oslo_db.sqlalchemy import enginefacade

import climate.conf  # noqa: F401  (registers [database] with Climate's defaults)
from climate.db import mysql
from climate.db import sqlite

_CONTEXT_MANAGER = enginefacade.transaction_context()
_CONTEXT_MANAGER.configure(sqlite_fk=True)
_CONTEXT_MANAGER.append_on_engine_create(sqlite.configure_engine)
_CONTEXT_MANAGER.append_on_engine_create(mysql.configure_engine)

reader = _CONTEXT_MANAGER.reader
writer = _CONTEXT_MANAGER.writer


def get_context_manager():
    return _CONTEXT_MANAGER


def get_engine():
    """The writer engine (started from ``cfg.CONF.database`` on first use)."""
    return _CONTEXT_MANAGER.writer.get_engine()
