"""The ``project_usage_locks`` table: one row per project whose usage policy is
checked, bumped inside each claim so that a project's claims are serialized.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

from climate.db.migration import charset

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'project_usage_locks',
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('project_id', name=op.f('pk_project_usage_locks')),
        **charset.table_options(op.get_bind()))

