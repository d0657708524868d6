"""virtual:instance's reservation rows (``instance_reservations``), and how a server is
held.

Holding a server (no double booking)
------------------------------------
A server is held by at most one unfinished reservation. While a reservation holds its
server, its row's primary key is not a random UUID but :func:`hold_key` of the server
id (a name-based UUID). Two transactions reserving the same server therefore insert the
same primary key, and the database lets exactly one of them commit, on every backend
and at any isolation level: PostgreSQL and InnoDB make the second INSERT wait for the
first transaction and then fail with a duplicate key, Galera's certification refuses
one of two writes of the same key, and SQLite runs one writer at a time. The loser
raises ``ClaimConflict``, the lease service's transaction retry (``climate.db.retry``)
runs its transaction again, and the retry finds the winner's row: a 409 naming the
lease that holds the server.

When a reservation is finished with its server (ended, released, handed back), its row
is re-keyed to a random UUID by one conditional UPDATE, which frees the server for a
later lease; deleting the lease deletes the row and frees it as well. "Held" is thus a
property of the row itself, checked and changed atomically, and it doubles as the
record that the end of the reservation is done (see
``climate.plugins.virtual_instance.plugin``).

A held server cannot be reserved by a second lease even for a later, disjoint window:
one server has one Nova state (shelved for one lease, metadata naming one lease), so
the next lease can be made once this one has ended.

The plugin's state
------------------
Columns of the row (migration 0003) keep what the reservation does and has done to
its server; :class:`Record` shows them as ``state``: ``before_end``
(``default``/``snapshot``), ``status`` (the server's status when it was reserved),
``shelve`` (Climate shelves it until the start), ``snapshots``
(``{"before_end"|"on_end": image id}``) and ``deleting`` (the end action has asked Nova
to delete the server). ``resource_properties`` stays for the capacity mode's host
filter.
"""

import dataclasses
import uuid

from oslo_db import exception as db_exc
import sqlalchemy as sa

from climate import exceptions
from climate.db import api as db_api
from climate.db import models

_HOLD_NAMESPACE = uuid.UUID('0f5e2d8a-7b1c-4c3e-9a6d-2b8f4e1c7a90')
IR = models.InstanceReservation
R = models.Reservation


def hold_key(server_id):
    """The primary key of the row of the reservation holding ``server_id``."""
    return str(uuid.uuid5(_HOLD_NAMESPACE, server_id))


@dataclasses.dataclass(frozen=True)
class Record:
    reservation_id: str
    server_id: str
    on_end: str
    held: bool
    state: dict

    @property
    def before_end(self):
        return self.state.get('before_end', 'default')

    @property
    def snapshots(self):
        return dict(self.state.get('snapshots') or {})


def _record(row):
    return Record(reservation_id=row.reservation_id, server_id=row.server_id,
                  on_end=row.on_end, held=row.id == hold_key(row.server_id),
                  state=_state(row))


# State key -> column (snapshots have a column per phase).
_STATE_COLUMNS = {'before_end': 'before_end', 'status': 'server_status',
                  'shelve': 'shelve', 'deleting': 'deleting'}
_SNAPSHOT_COLUMNS = {'before_end': 'before_end_snapshot', 'on_end': 'on_end_snapshot'}


def _state(row):
    state = {key: getattr(row, column) for key, column in _STATE_COLUMNS.items()
             if getattr(row, column) is not None}
    snapshots = {phase: getattr(row, column) for phase, column in _SNAPSHOT_COLUMNS.items()
                 if getattr(row, column)}
    if snapshots:
        state['snapshots'] = snapshots
    return state


def _set_state(row, changes):
    for key, value in changes.items():
        setattr(row, _STATE_COLUMNS[key], value)


# In the lease's own transaction -------------------------------------------------------
def hold(context, reservation_id, server_id, on_end, state):
    """Insert the row that holds ``server_id`` (inside ``context.session``'s transaction).

    :raises Conflict: another unfinished reservation holds the server.
    :raises ClaimConflict: a concurrent transaction is taking it now (retry).
    """
    session = context.session
    key = hold_key(server_id)
    holder = session.execute(
        sa.select(R.lease_id).join(IR, IR.reservation_id == R.id).where(IR.id == key)
    ).scalar_one_or_none()
    if holder is not None:
        raise exceptions.Conflict(
            f'resource_id: server {server_id} is already reserved by lease {holder}; '
            f'a server can be in one unfinished lease at a time')
    row = IR(id=key, reservation_id=reservation_id, server_id=server_id, on_end=on_end)
    _set_state(row, state)
    session.add(row)
    try:
        session.flush()
    except db_exc.DBDuplicateEntry:
        raise exceptions.ClaimConflict(what=f'server {server_id}') from None


def change(context, reservation_id, on_end=None, **state_changes):
    """Change ``on_end`` and state keys inside the caller's transaction."""
    row = _row(context, reservation_id)
    if row is None:
        return None
    if on_end is not None:
        row.on_end = on_end
    _set_state(row, state_changes)
    return _record(row)


def _row(context, reservation_id):
    return context.session.execute(
        sa.select(IR).where(IR.reservation_id == reservation_id)).scalar_one_or_none()


# Their own short transactions (after the lease's commit, during events) -----------------
@db_api.reader
def get(context, reservation_id):
    """The :class:`Record` of a reservation, or None if it has no row (rolled back)."""
    row = _row(context, reservation_id)
    return None if row is None else _record(row)


@db_api.writer
def update_state(context, reservation_id, **changes):
    """Set these state keys; returns the new :class:`Record`."""
    return change(context, reservation_id, **changes)


@db_api.writer
def set_snapshot(context, reservation_id, phase, image_id):
    row = _row(context, reservation_id)
    if row is None:
        return
    setattr(row, _SNAPSHOT_COLUMNS[phase], image_id)


@db_api.writer
def free(context, reservation_id, server_id):
    """Stop holding the server (idempotent); True if this call freed it."""
    result = context.session.execute(
        sa.update(IR)
        .where(IR.id == hold_key(server_id), IR.reservation_id == reservation_id)
        .values(id=str(uuid.uuid4()))
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


@db_api.writer
def mark_missing(context, lease_id, reservation_id):
    """Record that the reserved server is gone: the reservation's
    ``missing_resources`` and its lease's ``degraded`` flag."""
    session = context.session
    session.execute(sa.update(R).where(R.id == reservation_id)
                    .values(missing_resources=True)
                    .execution_options(synchronize_session=False))
    session.execute(sa.update(models.Lease).where(models.Lease.id == lease_id)
                    .values(degraded=True)
                    .execution_options(synchronize_session=False))


@db_api.reader
def many(context, reservation_ids):
    """``{reservation_id: Record}`` for the reservations that have a row."""
    if not reservation_ids:
        return {}
    rows = context.session.execute(
        sa.select(IR).where(IR.reservation_id.in_(list(reservation_ids)),
                            IR.server_id.is_not(None))).scalars()
    return {row.reservation_id: _record(row) for row in rows}
