"""Numeric shadow of host extra capabilities, for numeric comparisons in SQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('computehost_extra_capabilities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('capability_number', sa.Double(), nullable=True))

