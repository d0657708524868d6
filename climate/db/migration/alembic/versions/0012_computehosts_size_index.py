"""``ix_computehosts_size`` on ``computehosts (vcpus, memory_mb, local_gb, id)``: the
capacity search reads empty hosts smallest first and stops after the few it needs,
instead of sorting every host (``climate.db.capacity_search.find_room_quickly``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_computehosts_size', 'computehosts',
                    ['vcpus', 'memory_mb', 'local_gb', 'id'])
