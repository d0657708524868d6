"""SQL expressions that mean the same on SQLite, MariaDB/MySQL and PostgreSQL.

``bytewise(text)``
    text compared exactly, by code point: MySQL's default collations ignore case
    and PostgreSQL's sort by locale, so both get a binary comparison.
``seconds_between(earlier, later)``
    the difference of two datetime columns in seconds, as a number.
``force_index(select, table, index)``
    a statement that reads ``table`` through ``index`` on MariaDB/MySQL (the hint is
    left out elsewhere).
"""

import sqlalchemy as sa
from sqlalchemy.ext import compiler
from sqlalchemy.sql import functions


class bytewise(functions.FunctionElement):  # noqa: N801  (used like a SQL function)
    type = sa.Text()
    inherit_cache = True
    name = 'bytewise'


@compiler.compiles(bytewise)
def _bytewise_default(element, sql_compiler, **kw):
    (value,) = element.clauses.clauses
    return sql_compiler.process(value, **kw)


@compiler.compiles(bytewise, 'mysql')
def _bytewise_mysql(element, sql_compiler, **kw):
    (value,) = element.clauses.clauses
    return f'BINARY {sql_compiler.process(value, **kw)}'


@compiler.compiles(bytewise, 'postgresql')
def _bytewise_postgresql(element, sql_compiler, **kw):
    (value,) = element.clauses.clauses
    return f'({sql_compiler.process(value, **kw)} COLLATE "C")'


class seconds_between(functions.FunctionElement):  # noqa: N801
    type = sa.Float()
    inherit_cache = True
    name = 'seconds_between'


def _operands(element, sql_compiler, kw):
    earlier, later = element.clauses.clauses
    return sql_compiler.process(earlier, **kw), sql_compiler.process(later, **kw)


@compiler.compiles(seconds_between)
def _seconds_sqlite(element, sql_compiler, **kw):
    earlier, later = _operands(element, sql_compiler, kw)
    return f'((julianday({later}) - julianday({earlier})) * 86400.0)'


@compiler.compiles(seconds_between, 'mysql')
def _seconds_mysql(element, sql_compiler, **kw):
    earlier, later = _operands(element, sql_compiler, kw)
    return f'TIMESTAMPDIFF(SECOND, {earlier}, {later})'


@compiler.compiles(seconds_between, 'postgresql')
def _seconds_postgresql(element, sql_compiler, **kw):
    earlier, later = _operands(element, sql_compiler, kw)
    return f'EXTRACT(EPOCH FROM ({later} - {earlier}))'


def force_index(select, table, index):
    for dialect in ('mysql', 'mariadb'):
        select = select.with_hint(table, f'FORCE INDEX ({index})', dialect)
    return select
