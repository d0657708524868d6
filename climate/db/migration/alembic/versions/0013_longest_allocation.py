"""``computehosts.longest_allocation`` and the ``ix_<table>_window`` indexes.

``longest_allocation`` (seconds) is the longest allocation, whole or slice, a host has
ever held; the claim keeps it (``climate.db.claims.claim``). A search for what
overlaps ``[lo, hi)`` then reads only allocations starting in
``[lo - MAX(longest_allocation), hi)`` on ``ix_<table>_window (start_date, end_date,
compute_host_id)``, instead of every allocation of every host that starts before
``hi``: its cost follows what overlaps the window, not how many allocations exist.
The column is filled here from the allocations that exist.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import math

from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_ALLOCATION_TABLES = ('computehost_allocations', 'capacity_allocations')


def upgrade():
    op.add_column('computehosts', sa.Column('longest_allocation', sa.BigInteger(),
                                            nullable=False, server_default='0'))
    op.create_index('ix_computehosts_longest_allocation', 'computehosts',
                    ['longest_allocation'])
    for table in _ALLOCATION_TABLES:
        op.create_index(f'ix_{table}_window', table,
                        ['start_date', 'end_date', 'compute_host_id'])
    # Durations are computed here rather than in SQL: date arithmetic differs on
    # every backend, and this runs once.
    bind = op.get_bind()
    longest = {}
    for name in _ALLOCATION_TABLES:
        table = sa.table(name, sa.column('compute_host_id', sa.Integer),
                         sa.column('start_date', sa.DateTime),
                         sa.column('end_date', sa.DateTime))
        for host_id, start, end in bind.execute(sa.select(
                table.c.compute_host_id, table.c.start_date, table.c.end_date)):
            seconds = math.ceil((end - start).total_seconds())
            longest[host_id] = max(longest.get(host_id, 0), seconds)
    hosts = sa.table('computehosts', sa.column('id', sa.Integer),
                     sa.column('longest_allocation', sa.BigInteger))
    for host_id, seconds in longest.items():
        bind.execute(sa.update(hosts).where(hosts.c.id == host_id)
                     .values(longest_allocation=seconds))
