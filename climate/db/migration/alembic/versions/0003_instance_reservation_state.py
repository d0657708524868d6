"""Columns for the shelving mode's state of a virtual:instance reservation.

It was a JSON document in ``instance_reservations.resource_properties``, a field that
Blazar's capacity mode returns to users as their host filter; the state moves to
columns of its own and ``resource_properties`` is emptied for those rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import json

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# (name, type) of the new columns, all nullable.
COLUMNS = (('before_end', sa.String(length=36)), ('server_status', sa.String(length=36)),
           ('shelve', sa.Boolean()), ('deleting', sa.Boolean()),
           ('before_end_snapshot', sa.String(length=36)),
           ('on_end_snapshot', sa.String(length=36)))


def upgrade():
    with op.batch_alter_table('instance_reservations', schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    _move_state(op.get_bind())


def _move_state(connection):
    table = sa.table('instance_reservations', sa.column('id', sa.String),
                     sa.column('server_id', sa.String),
                     sa.column('resource_properties', sa.Text),
                     *(sa.column(name, type_) for name, type_ in COLUMNS))
    rows = connection.execute(
        sa.select(table.c.id, table.c.resource_properties)
        .where(table.c.server_id.is_not(None),
               table.c.resource_properties.is_not(None))).all()
    for row_id, text in rows:
        try:
            state = json.loads(text)
        except ValueError:
            state = {}
        if not isinstance(state, dict):
            state = {}
        snapshots = state.get('snapshots') or {}
        connection.execute(
            table.update().where(table.c.id == row_id).values(
                before_end=state.get('before_end'), server_status=state.get('status'),
                shelve=_flag(state.get('shelve')), deleting=_flag(state.get('deleting')),
                before_end_snapshot=snapshots.get('before_end'),
                on_end_snapshot=snapshots.get('on_end'), resource_properties=None))


def _flag(value):
    return None if value is None else bool(value)
