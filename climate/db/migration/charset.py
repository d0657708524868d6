"""The character set and collation of every MySQL/MariaDB table Climate creates.

``utf8mb4`` stores any Unicode text (a ``latin1`` or 3-byte ``utf8`` table turns an
emoji or many CJK names into an SQL error). The collation is binary so that names and
ids compare as they do on SQLite and PostgreSQL: case-sensitive (``?name=Lab`` does
not find ``lab``) and, where the server has a NO PAD binary collation (MariaDB's
``utf8mb4_nopad_bin``, MySQL 8's ``utf8mb4_0900_bin``), trailing spaces count
(``/v1/leases/<id>%20`` is not that lease). Older MySQL servers get ``utf8mb4_bin``,
which ignores trailing spaces in comparisons.
"""

import sqlalchemy as sa

CHARSET = 'utf8mb4'
PREFERRED_COLLATIONS = ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin', 'utf8mb4_bin')


def is_mysql(bind):
    return bind.dialect.name == 'mysql'


def collation(bind):
    """The first of PREFERRED_COLLATIONS this MySQL/MariaDB server knows."""
    known = {row[0] for row in bind.execute(
        sa.text("SHOW COLLATION WHERE Charset = 'utf8mb4'")).all()}
    return next(name for name in PREFERRED_COLLATIONS if name in known)


def table_options(bind):
    """Keyword arguments for ``op.create_table``: utf8mb4 on MySQL, nothing elsewhere."""
    if not is_mysql(bind):
        return {}
    return {'mysql_charset': CHARSET, 'mysql_collate': collation(bind)}
