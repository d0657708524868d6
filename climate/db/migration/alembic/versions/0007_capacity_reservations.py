"""Capacity reservations: ``capacity_reservations`` (the request and its Nova
objects) and ``capacity_allocations`` (slices of hosts held for a window).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

from climate.db.migration import charset
from climate.db.types import UTCDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    options = charset.table_options(op.get_bind())
    op.create_table(
        'capacity_reservations',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('reservation_id', sa.String(length=36), nullable=False),
        sa.Column('resource_type', sa.String(length=66), nullable=False),
        sa.Column('vcpus', sa.Integer(), nullable=False),
        sa.Column('memory_mb', sa.Integer(), nullable=False),
        sa.Column('disk_gb', sa.Integer(), nullable=False),
        sa.Column('amount', sa.Integer(), nullable=False),
        sa.Column('affinity', sa.Boolean(), nullable=True),
        sa.Column('resource_properties', sa.Text(), nullable=True),
        sa.Column('source_flavor_id', sa.String(length=255), nullable=True),
        sa.Column('extra_specs', sa.Text(), nullable=True),
        sa.Column('aggregate_id', sa.Integer(), nullable=True),
        sa.Column('server_group_id', sa.String(length=36), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['reservation_id'], ['reservations.id'],
            name=op.f('fk_capacity_reservations_reservation_id_reservations'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_capacity_reservations')),
        sa.UniqueConstraint('reservation_id',
                            name=op.f('uq_capacity_reservations_reservation_id')),
        **options)
    op.create_table(
        'capacity_allocations',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('compute_host_id', sa.Integer(), nullable=False),
        sa.Column('reservation_id', sa.String(length=36), nullable=False),
        sa.Column('instances', sa.Integer(), nullable=False),
        sa.Column('vcpus', sa.Integer(), nullable=False),
        sa.Column('memory_mb', sa.Integer(), nullable=False),
        sa.Column('disk_gb', sa.Integer(), nullable=False),
        sa.Column('start_date', UTCDateTime(), nullable=False),
        sa.Column('end_date', UTCDateTime(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['compute_host_id'], ['computehosts.id'],
            name=op.f('fk_capacity_allocations_compute_host_id_computehosts')),
        sa.ForeignKeyConstraint(
            ['reservation_id'], ['reservations.id'],
            name=op.f('fk_capacity_allocations_reservation_id_reservations'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_capacity_allocations')),
        **options)
    with op.batch_alter_table('capacity_allocations', schema=None) as batch_op:
        batch_op.create_index('ix_capacity_allocations_host_window',
                              ['compute_host_id', 'start_date', 'end_date'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_capacity_allocations_reservation_id'),
                              ['reservation_id'], unique=False)
