"""Host failures: host health, per-reservation failure policy, maintenance windows
and the healing history.

* ``computehosts.status_reason``: why a host is ``down`` (``status`` already exists);
* ``computehost_reservations.on_host_failure``: ``replace`` (NULL) or ``keep``;
* ``host_maintenances``: a host taken out of service by an admin for a window;
* ``healing_records``: what healing did to a reservation (shown in ``lease show``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

from climate.db.migration import charset
from climate.db.types import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('computehosts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_reason', sa.Text(), nullable=True))
    with op.batch_alter_table('computehost_reservations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('on_host_failure', sa.String(length=16),
                                      nullable=True))
    op.create_table(
        'host_maintenances',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('compute_host_id', sa.Integer(), nullable=False),
        sa.Column('start_date', UTCDateTime(), nullable=False),
        sa.Column('end_date', UTCDateTime(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['compute_host_id'], ['computehosts.id'], ondelete='CASCADE',
            name=op.f('fk_host_maintenances_compute_host_id_computehosts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_host_maintenances')),
        **charset.table_options(op.get_bind()))
    with op.batch_alter_table('host_maintenances', schema=None) as batch_op:
        batch_op.create_index('ix_host_maintenances_host_window',
                              ['compute_host_id', 'start_date', 'end_date'],
                              unique=False)
    op.create_table(
        'healing_records',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('lease_id', sa.String(length=36), nullable=False),
        sa.Column('reservation_id', sa.String(length=36), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('failed_host_id', sa.Integer(), nullable=True),
        sa.Column('new_host_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['lease_id'], ['leases.id'], ondelete='CASCADE',
                                name=op.f('fk_healing_records_lease_id_leases')),
        sa.ForeignKeyConstraint(
            ['reservation_id'], ['reservations.id'], ondelete='CASCADE',
            name=op.f('fk_healing_records_reservation_id_reservations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_healing_records')),
        **charset.table_options(op.get_bind()))
    with op.batch_alter_table('healing_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_healing_records_lease_id'), ['lease_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_healing_records_reservation_id'),
                              ['reservation_id'], unique=False)
