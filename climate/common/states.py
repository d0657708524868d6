"""The state machines of leases, reservations and events (Blazar's status names).

Every status change in Climate goes through :func:`check` (in memory) or is written by a
conditional UPDATE whose ``WHERE status IN (...)`` comes from :func:`sources` — so a
change that is not in these tables can never be stored, even by two managers racing.
"""

from climate import exceptions


class Lease:
    CREATING = 'CREATING'
    PENDING = 'PENDING'
    STARTING = 'STARTING'
    ACTIVE = 'ACTIVE'
    UPDATING = 'UPDATING'
    TERMINATING = 'TERMINATING'
    TERMINATED = 'TERMINATED'
    DELETING = 'DELETING'
    ERROR = 'ERROR'

    STABLE = (PENDING, ACTIVE, TERMINATED, ERROR)
    TRANSITIONAL = (CREATING, STARTING, UPDATING, TERMINATING, DELETING)


class Reservation:
    PENDING = 'pending'
    ACTIVE = 'active'
    DELETED = 'deleted'
    ERROR = 'error'


class Event:
    UNDONE = 'UNDONE'
    IN_PROGRESS = 'IN_PROGRESS'
    DONE = 'DONE'
    ERROR = 'ERROR'

    START_LEASE = 'start_lease'
    BEFORE_END_LEASE = 'before_end_lease'
    END_LEASE = 'end_lease'
    TYPES = (START_LEASE, BEFORE_END_LEASE, END_LEASE)


_L = Lease
LEASE_TRANSITIONS = {
    _L.CREATING: {_L.PENDING, _L.DELETING},
    _L.PENDING: {_L.STARTING, _L.UPDATING, _L.DELETING},
    _L.STARTING: {_L.ACTIVE, _L.ERROR, _L.DELETING},
    _L.ACTIVE: {_L.TERMINATING, _L.UPDATING, _L.DELETING},
    _L.UPDATING: {_L.PENDING, _L.ACTIVE, _L.TERMINATED, _L.ERROR, _L.DELETING},
    _L.TERMINATING: {_L.TERMINATED, _L.ERROR, _L.DELETING},
    _L.TERMINATED: {_L.UPDATING, _L.DELETING},
    # An operator may end or delete a lease whose start failed.
    _L.ERROR: {_L.TERMINATING, _L.UPDATING, _L.DELETING},
    _L.DELETING: {_L.ERROR},
}

_R = Reservation
RESERVATION_TRANSITIONS = {
    _R.PENDING: {_R.ACTIVE, _R.DELETED, _R.ERROR},
    _R.ACTIVE: {_R.DELETED, _R.ERROR},
    _R.ERROR: {_R.ACTIVE, _R.DELETED},
    _R.DELETED: set(),
}

_E = Event
EVENT_TRANSITIONS = {
    _E.UNDONE: {_E.IN_PROGRESS, _E.DONE},
    # IN_PROGRESS -> UNDONE is a retry after a transient failure.
    _E.IN_PROGRESS: {_E.DONE, _E.ERROR, _E.UNDONE},
    # DONE -> UNDONE: a before-end event moved back into the future by an update.
    _E.DONE: {_E.UNDONE},
    _E.ERROR: {_E.UNDONE},
}

_TABLES = {'lease': LEASE_TRANSITIONS, 'reservation': RESERVATION_TRANSITIONS,
           'event': EVENT_TRANSITIONS}


def allowed(kind, current, target):
    return target in _TABLES[kind].get(current, ())


def check(kind, obj_id, current, target):
    """Raise :class:`InvalidStateTransition` unless ``current -> target`` is allowed."""
    if not allowed(kind, current, target):
        raise exceptions.InvalidStateTransition(kind=kind, id=obj_id, current=current,
                                                target=target)


def sources(kind, target):
    """Every status from which ``target`` may be reached (for conditional UPDATEs)."""
    return sorted(s for s, targets in _TABLES[kind].items() if target in targets)


def derive_lease_status(start_status, end_status):
    """The stable lease status implied by its start and end events."""
    if start_status == _E.UNDONE and end_status == _E.UNDONE:
        return _L.PENDING
    if start_status == _E.DONE and end_status == _E.UNDONE:
        return _L.ACTIVE
    if start_status == _E.DONE and end_status == _E.DONE:
        return _L.TERMINATED
    return _L.ERROR
