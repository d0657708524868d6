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


def convert_tables(bind, charset, collation_name):
    """Convert every table of the current database that is not in ``collation_name``,
    data included; return their names.

    MariaDB refuses to change the character set of a column in a foreign key (even
    with ``foreign_key_checks = 0``), so the database's foreign keys are dropped
    first and made again, identical, afterwards.
    """
    tables = bind.execute(sa.text(
        'SELECT table_name FROM information_schema.tables '
        "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' "
        'AND table_collation <> :collation ORDER BY table_name'),
        {'collation': collation_name}).scalars().all()
    if not tables:
        return []
    keys = _foreign_keys(bind)
    for key in keys:
        bind.execute(sa.text(f'ALTER TABLE `{key["table"]}` DROP FOREIGN KEY '
                             f'`{key["name"]}`'))
    for table in tables:
        bind.execute(sa.text(f'ALTER TABLE `{table}` CONVERT TO CHARACTER SET '
                             f'{charset} COLLATE {collation_name}'))
    for key in keys:
        columns = ', '.join(f'`{c}`' for c in key['columns'])
        referred = ', '.join(f'`{c}`' for c in key['referred_columns'])
        bind.execute(sa.text(
            f'ALTER TABLE `{key["table"]}` ADD CONSTRAINT `{key["name"]}` FOREIGN KEY '
            f'({columns}) REFERENCES `{key["referred_table"]}` ({referred}) '
            f'ON DELETE {key["on_delete"]} ON UPDATE {key["on_update"]}'))
    return tables


def _foreign_keys(bind):
    rows = bind.execute(sa.text(
        'SELECT r.constraint_name, r.table_name, r.referenced_table_name, '
        'r.delete_rule, r.update_rule, k.column_name, k.referenced_column_name '
        'FROM information_schema.referential_constraints r '
        'JOIN information_schema.key_column_usage k '
        'ON k.constraint_schema = r.constraint_schema '
        'AND k.constraint_name = r.constraint_name AND k.table_name = r.table_name '
        'WHERE r.constraint_schema = DATABASE() '
        'ORDER BY r.table_name, r.constraint_name, k.ordinal_position')).all()
    keys = {}
    for name, table, referred, on_delete, on_update, column, referred_column in rows:
        key = keys.setdefault((table, name), {
            'name': name, 'table': table, 'referred_table': referred,
            'on_delete': on_delete, 'on_update': on_update, 'columns': [],
            'referred_columns': []})
        key['columns'].append(column)
        key['referred_columns'].append(referred_column)
    return list(keys.values())
