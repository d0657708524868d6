"""SQLite settings that make the embedded database safe with many threads.

SQLite refuses (``database is locked``) a transaction that read and then wants to write
while another one writes, without waiting. Starting every transaction with
``BEGIN IMMEDIATE`` takes the write lock up front, so concurrent transactions queue
(``busy_timeout``) instead of failing; WAL lets readers outside transactions proceed.

Only Climate's own engines (``climate.db.api``) get these settings; a tool that holds a
transaction open while reading through a second connection of the same engine (as
oslo.db's test helpers do) would wait on itself under ``BEGIN IMMEDIATE``.
"""

import sqlite3

import sqlalchemy as sa

BUSY_TIMEOUT_MS = 30000


def configure_engine(engine):
    """Apply the settings to ``engine`` if it is an SQLite engine (an
    enginefacade ``on_engine_create`` hook)."""
    if engine.dialect.name != 'sqlite':
        return
    sa.event.listen(engine, 'connect', _on_connect)
    # oslo.db sends a plain (deferred) BEGIN from a listener of its own; ours replaces
    # it, keeping its "in_transaction" marker so its commit/rollback listeners agree.
    for listener in list(engine.dispatch.begin):
        if getattr(listener, '__name__', '') == '_sqlite_emit_begin':
            sa.event.remove(engine, 'begin', listener)
    sa.event.listen(engine, 'begin', _on_begin)
    sa.event.listen(engine, 'commit', _on_end)
    sa.event.listen(engine, 'rollback', _on_end)


def _on_connect(dbapi_connection, connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy issue BEGIN itself (below) instead of pysqlite's implicit one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f'PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}')
    cursor.execute('PRAGMA foreign_keys = ON')
    if cursor.execute('PRAGMA database_list').fetchone()[2]:  # a file, not :memory:
        cursor.execute('PRAGMA journal_mode = WAL')
    cursor.close()


# The "in_transaction" marker is the one oslo.db's own SQLite listeners use, so that
# exactly one BEGIN is sent whichever engine (oslo.db's or a plain one) runs it.
def _on_begin(connection):
    if connection.dialect.name == 'sqlite' and 'in_transaction' not in connection.info:
        connection.exec_driver_sql('BEGIN IMMEDIATE')
        connection.info['in_transaction'] = True


def _on_end(connection):
    if connection.dialect.name == 'sqlite':
        connection.info.pop('in_transaction', None)


def is_locked_error(exc):
    """Whether ``exc`` is SQLite's transient "database is locked"."""
    return isinstance(getattr(exc, 'orig', None), sqlite3.OperationalError) and \
        'database is locked' in str(exc.orig)
