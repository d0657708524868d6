"""The state machines of leases, reservations and events (Blazar's status names).

Each machine is a table of ``(source, cause, target)`` rows: the cause names what moves
an object from ``source`` to ``target`` (a user's request, an event falling due, a step
finishing or failing), in the way OpenStack Ironic names its provisioning transitions.
Every other answer here (:func:`allowed`, :func:`sources`, :func:`cause`) is derived
from those tables.

Every status change in Climate goes through :func:`check` (in memory) or is written by a
conditional UPDATE whose ``WHERE status IN (...)`` comes from :func:`sources` — so a
change that is not in these tables can never be stored, even by two managers racing.
"""

import collections

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
    STATUSES = STABLE + TRANSITIONAL
    INITIAL = CREATING


class Reservation:
    PENDING = 'pending'
    ACTIVE = 'active'
    DELETED = 'deleted'
    ERROR = 'error'

    STATUSES = (PENDING, ACTIVE, DELETED, ERROR)
    INITIAL = PENDING


class Event:
    UNDONE = 'UNDONE'
    IN_PROGRESS = 'IN_PROGRESS'
    DONE = 'DONE'
    ERROR = 'ERROR'

    STATUSES = (UNDONE, IN_PROGRESS, DONE, ERROR)
    INITIAL = UNDONE

    START_LEASE = 'start_lease'
    BEFORE_END_LEASE = 'before_end_lease'
    END_LEASE = 'end_lease'
    TYPES = (START_LEASE, BEFORE_END_LEASE, END_LEASE)


Transition = collections.namedtuple('Transition', 'source cause target')

_L = Lease
LEASE_TRANSITIONS = tuple(Transition(*row) for row in (
    (_L.CREATING, 'created', _L.PENDING),  # every plugin prepared its reservation
    (_L.CREATING, 'delete_requested', _L.DELETING),
    (_L.PENDING, 'start_due', _L.STARTING),
    (_L.PENDING, 'update_requested', _L.UPDATING),
    (_L.PENDING, 'delete_requested', _L.DELETING),
    (_L.STARTING, 'started', _L.ACTIVE),
    (_L.STARTING, 'start_failed', _L.ERROR),
    (_L.STARTING, 'delete_requested', _L.DELETING),
    (_L.ACTIVE, 'end_due', _L.TERMINATING),
    (_L.ACTIVE, 'update_requested', _L.UPDATING),
    (_L.ACTIVE, 'delete_requested', _L.DELETING),
    # An update applied settles where the lease's events put it (derive_lease_status);
    # one turned down or undone goes back to the status it came from, ERROR included
    # (an update never causes ERROR); recovery settles one a dead manager left.
    (_L.UPDATING, 'settled_before_start', _L.PENDING),
    (_L.UPDATING, 'settled_started', _L.ACTIVE),
    (_L.UPDATING, 'settled_ended', _L.TERMINATED),
    (_L.UPDATING, 'update_failed', _L.ERROR),  # it was ERROR before
    (_L.UPDATING, 'delete_requested', _L.DELETING),
    (_L.TERMINATING, 'ended', _L.TERMINATED),
    (_L.TERMINATING, 'end_failed', _L.ERROR),
    (_L.TERMINATING, 'delete_requested', _L.DELETING),
    (_L.TERMINATED, 'update_requested', _L.UPDATING),
    (_L.TERMINATED, 'delete_requested', _L.DELETING),
    # An operator may end, change or delete a lease whose start failed.
    (_L.ERROR, 'end_due', _L.TERMINATING),
    (_L.ERROR, 'update_requested', _L.UPDATING),
    (_L.ERROR, 'delete_requested', _L.DELETING),
    # A delete that failed leaves the lease in the stable status it had; deleting
    # again retries.
    (_L.DELETING, 'delete_failed_before_start', _L.PENDING),
    (_L.DELETING, 'delete_failed_started', _L.ACTIVE),
    (_L.DELETING, 'delete_failed_ended', _L.TERMINATED),
    (_L.DELETING, 'delete_failed', _L.ERROR),  # it was ERROR before
))

_R = Reservation
RESERVATION_TRANSITIONS = tuple(Transition(*row) for row in (
    (_R.PENDING, 'started', _R.ACTIVE),
    (_R.PENDING, 'ended', _R.DELETED),
    (_R.PENDING, 'event_failed', _R.ERROR),
    (_R.ACTIVE, 'ended', _R.DELETED),
    (_R.ACTIVE, 'event_failed', _R.ERROR),
    # The lease's start or end, run again after a failure.
    (_R.ERROR, 'started', _R.ACTIVE),
    (_R.ERROR, 'ended', _R.DELETED),
))

_E = Event
EVENT_TRANSITIONS = tuple(Transition(*row) for row in (
    (_E.UNDONE, 'claimed', _E.IN_PROGRESS),
    # Recorded done without being run (no code path writes it today).
    (_E.UNDONE, 'skipped', _E.DONE),
    (_E.IN_PROGRESS, 'handled', _E.DONE),
    (_E.IN_PROGRESS, 'failed', _E.ERROR),
    # A transient failure: put back with a back-off.
    (_E.IN_PROGRESS, 'retry_scheduled', _E.UNDONE),
    # A before-end event moved back into the future by an update.
    (_E.DONE, 'rescheduled', _E.UNDONE),
    (_E.ERROR, 'retry_requested', _E.UNDONE),
))

MACHINES = {'lease': (Lease, LEASE_TRANSITIONS),
            'reservation': (Reservation, RESERVATION_TRANSITIONS),
            'event': (Event, EVENT_TRANSITIONS)}

# (kind, source, target) -> cause, built once from the tables.
_CAUSES = {(kind, t.source, t.target): t.cause
           for kind, (_, table) in MACHINES.items() for t in table}


def transitions(kind):
    """The ``Transition(source, cause, target)`` rows of a machine."""
    return MACHINES[kind][1]


def allowed(kind, current, target):
    return (kind, current, target) in _CAUSES


def cause(kind, current, target):
    """What moves a ``kind`` from ``current`` to ``target``; None if nothing does."""
    return _CAUSES.get((kind, current, target))


def describe(kind, current, target):
    """``'PENDING -> STARTING (start_due)'``: a transition as log lines show it."""
    return f'{current} -> {target} ({cause(kind, current, target) or "not allowed"})'


def check(kind, obj_id, current, target):
    """Raise :class:`InvalidStateTransition` unless ``current -> target`` is allowed.

    The message says which causes do lead to ``target``, and from where.
    """
    if not allowed(kind, current, target):
        raise exceptions.InvalidStateTransition(
            _refusal(kind, obj_id, current, target), kind=kind, id=obj_id,
            current=current, target=target)


def _refusal(kind, obj_id, current, target):
    message = f'Cannot move {kind} {obj_id} from {current} to {target}'
    leading = collections.defaultdict(list)
    for t in transitions(kind):
        if t.target == target:
            leading[t.cause].append(t.source)
    if not leading:
        return f'{message}: nothing moves a {kind} to {target}'
    return f'{message}: a {kind} reaches {target} only by ' + ', '.join(
        f'{name} (from {", ".join(sorted(froms))})'
        for name, froms in sorted(leading.items()))


def sources(kind, target):
    """Every status from which ``target`` may be reached (for conditional UPDATEs)."""
    return sorted({t.source for t in transitions(kind) if t.target == target})


def derive_lease_status(start_status, end_status):
    """The stable lease status implied by its start and end events."""
    if start_status == _E.UNDONE and end_status == _E.UNDONE:
        return _L.PENDING
    if start_status == _E.DONE and end_status == _E.UNDONE:
        return _L.ACTIVE
    if start_status == _E.DONE and end_status == _E.DONE:
        return _L.TERMINATED
    return _L.ERROR
