"""MySQL/MariaDB connections in utf8mb4.

oslo.db connects with ``charset=utf8`` unless the URL names one, and MariaDB (and
MySQL 8, with a warning) take ``utf8`` as the 3-byte ``utf8mb3``: an emoji or a
supplementary CJK character would be refused on the way to a utf8mb4 table. Each
connection Climate's engines open is switched to ``utf8mb4``, whatever the URL says.
"""

import sqlalchemy as sa

CHARSET = 'utf8mb4'


def configure_engine(engine):
    """An enginefacade ``on_engine_create`` hook; only MySQL engines are changed."""
    if engine.dialect.name != 'mysql':
        return
    sa.event.listen(engine, 'connect', _on_connect)
    # oslo.db opened (and pooled) a connection to test the URL before this hook ran.
    engine.dispose()


def _on_connect(dbapi_connection, connection_record):
    # PyMySQL and mysqlclient both: SET NAMES, and the client-side encoding with it.
    dbapi_connection.set_character_set(CHARSET)
