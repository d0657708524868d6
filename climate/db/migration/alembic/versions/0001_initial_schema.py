"""Initial schema: leases, reservations, events, hosts, allocations, instances.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-21
"""

from alembic import op
import sqlalchemy as sa

from climate.db.migration import charset
from climate.db.types import UTCDateTime

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    # utf8mb4 with a binary collation on MySQL (see climate.db.migration.charset).
    options = charset.table_options(op.get_bind())
    op.create_table('computehosts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('hypervisor_id', sa.String(length=36), nullable=True),
    sa.Column('hypervisor_hostname', sa.String(length=255), nullable=False),
    sa.Column('service_name', sa.String(length=255), nullable=True),
    sa.Column('vcpus', sa.Integer(), nullable=False),
    sa.Column('memory_mb', sa.Integer(), nullable=False),
    sa.Column('local_gb', sa.Integer(), nullable=False),
    sa.Column('cpu_info', sa.Text(), nullable=True),
    sa.Column('hypervisor_type', sa.String(length=255), nullable=True),
    sa.Column('hypervisor_version', sa.BigInteger(), nullable=True),
    sa.Column('availability_zone', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('trust_id', sa.String(length=36), nullable=True),
    sa.Column('reservable', sa.Boolean(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_computehosts')),
    sa.UniqueConstraint('hypervisor_hostname', name=op.f('uq_computehosts_hypervisor_hostname')),
    **options
    )
    op.create_table('leases',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=True),
    sa.Column('start_date', UTCDateTime(), nullable=False),
    sa.Column('end_date', UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('trust_id', sa.String(length=36), nullable=True),
    sa.Column('degraded', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leases')),
    **options
    )
    with op.batch_alter_table('leases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leases_project_id'), ['project_id'], unique=False)

    op.create_table('resource_properties',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('resource_type', sa.String(length=66), nullable=False),
    sa.Column('property_name', sa.String(length=64), nullable=False),
    sa.Column('private', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_properties')),
    sa.UniqueConstraint('resource_type', 'property_name', name=op.f('uq_resource_properties_resource_type_property_name')),
    **options
    )
    op.create_table('computehost_extra_capabilities',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('computehost_id', sa.Integer(), nullable=False),
    sa.Column('property_id', sa.Integer(), nullable=False),
    sa.Column('capability_value', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['computehost_id'], ['computehosts.id'], name=op.f('fk_computehost_extra_capabilities_computehost_id_computehosts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['property_id'], ['resource_properties.id'], name=op.f('fk_computehost_extra_capabilities_property_id_resource_properties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_computehost_extra_capabilities')),
    sa.UniqueConstraint('computehost_id', 'property_id', name=op.f('uq_computehost_extra_capabilities_computehost_id_property_id')),
    **options
    )
    with op.batch_alter_table('computehost_extra_capabilities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_computehost_extra_capabilities_property_id'), ['property_id'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('lease_id', sa.String(length=36), nullable=False),
    sa.Column('event_type', sa.String(length=66), nullable=False),
    sa.Column('time', UTCDateTime(), nullable=False),
    sa.Column('due_at', UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('owner', sa.String(length=255), nullable=True),
    sa.Column('claimed_at', UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['lease_id'], ['leases.id'], name=op.f('fk_events_lease_id_leases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    **options
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_lease_id'), ['lease_id'], unique=False)
        batch_op.create_index('ix_events_status_due_at', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_events_type_status_time', ['event_type', 'status', 'time'], unique=False)

    op.create_table('reservations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('lease_id', sa.String(length=36), nullable=False),
    sa.Column('resource_type', sa.String(length=66), nullable=False),
    sa.Column('resource_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('missing_resources', sa.Boolean(), nullable=False),
    sa.Column('resources_changed', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['lease_id'], ['leases.id'], name=op.f('fk_reservations_lease_id_leases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reservations')),
    **options
    )
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reservations_lease_id'), ['lease_id'], unique=False)

    op.create_table('computehost_allocations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('compute_host_id', sa.Integer(), nullable=False),
    sa.Column('reservation_id', sa.String(length=36), nullable=False),
    sa.Column('start_date', UTCDateTime(), nullable=False),
    sa.Column('end_date', UTCDateTime(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['compute_host_id'], ['computehosts.id'], name=op.f('fk_computehost_allocations_compute_host_id_computehosts')),
    sa.ForeignKeyConstraint(['reservation_id'], ['reservations.id'], name=op.f('fk_computehost_allocations_reservation_id_reservations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_computehost_allocations')),
    **options
    )
    with op.batch_alter_table('computehost_allocations', schema=None) as batch_op:
        batch_op.create_index('ix_computehost_allocations_host_window', ['compute_host_id', 'start_date', 'end_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_computehost_allocations_reservation_id'), ['reservation_id'], unique=False)

    op.create_table('computehost_reservations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('reservation_id', sa.String(length=36), nullable=False),
    sa.Column('aggregate_id', sa.Integer(), nullable=True),
    sa.Column('count_range', sa.String(length=36), nullable=True),
    sa.Column('hypervisor_properties', sa.Text(), nullable=True),
    sa.Column('resource_properties', sa.Text(), nullable=True),
    sa.Column('before_end', sa.String(length=36), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['reservation_id'], ['reservations.id'], name=op.f('fk_computehost_reservations_reservation_id_reservations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_computehost_reservations')),
    sa.UniqueConstraint('reservation_id', name=op.f('uq_computehost_reservations_reservation_id')),
    **options
    )
    op.create_table('instance_reservations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('reservation_id', sa.String(length=36), nullable=False),
    sa.Column('server_id', sa.String(length=36), nullable=True),
    sa.Column('on_end', sa.String(length=36), nullable=True),
    sa.Column('vcpus', sa.Integer(), nullable=True),
    sa.Column('memory_mb', sa.Integer(), nullable=True),
    sa.Column('disk_gb', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Integer(), nullable=True),
    sa.Column('affinity', sa.Boolean(), nullable=True),
    sa.Column('resource_properties', sa.Text(), nullable=True),
    sa.Column('flavor_id', sa.String(length=36), nullable=True),
    sa.Column('aggregate_id', sa.Integer(), nullable=True),
    sa.Column('server_group_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['reservation_id'], ['reservations.id'], name=op.f('fk_instance_reservations_reservation_id_reservations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instance_reservations')),
    sa.UniqueConstraint('reservation_id', name=op.f('uq_instance_reservations_reservation_id')),
    **options
    )
    with op.batch_alter_table('instance_reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instance_reservations_server_id'), ['server_id'], unique=False)

