"""``capacity_reservations.on_host_failure``: what healing does with a capacity
reservation's slices on a failed host, ``replace`` (NULL, the default) or ``keep``,
as ``computehost_reservations.on_host_failure`` for host reservations.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('capacity_reservations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('on_host_failure', sa.String(length=16),
                                      nullable=True))
