"""The ``idempotency_keys`` table: the ``Idempotency-Key`` of lease creations.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa

from climate.db.migration import charset
from climate.db.types import UTCDateTime

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'idempotency_keys',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('idempotency_key', sa.String(length=255), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('lease_id', sa.String(length=36), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
        sa.UniqueConstraint('project_id', 'idempotency_key',
                            name=op.f('uq_idempotency_keys_project_id_idempotency_key')),
        **charset.table_options(op.get_bind()))
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_lease_id'), ['lease_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_idempotency_keys_created_at'),
                              ['created_at'], unique=False)
