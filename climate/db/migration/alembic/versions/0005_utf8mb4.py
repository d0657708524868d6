"""MySQL/MariaDB: every table, and the database's default, in utf8mb4.

Databases created as ``latin1`` (or 3-byte ``utf8``) made any name outside that
character set an SQL error. Each table not already in utf8mb4 with the chosen binary
collation (``climate.db.migration.charset``) is converted, data included (its foreign
keys are dropped and made again around the conversion). Converting
a ``latin1`` table widens its TEXT columns to MEDIUMTEXT (MySQL keeps the number of
characters they hold), which changes nothing for Climate. Other backends: nothing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa

from climate.db.migration import charset

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if not charset.is_mysql(bind):
        return
    collation = charset.collation(bind)
    bind.execute(sa.text(f'ALTER DATABASE CHARACTER SET {charset.CHARSET} '
                         f'COLLATE {collation}'))
    charset.convert_tables(bind, charset.CHARSET, collation)
