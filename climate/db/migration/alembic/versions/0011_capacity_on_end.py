"""``capacity_reservations.on_end``: what the end of a capacity reservation does to
the servers booted with its flavor, ``delete`` (NULL, as before this field) or
``snapshot_and_delete``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('capacity_reservations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('on_end', sa.String(length=32), nullable=True))
