"""The lease, reservation and event state machines: tables and the helpers built on them."""

import collections

import pytest

from climate import exceptions
from climate.common import states

KINDS = sorted(states.MACHINES)


def _reachable(kind):
    constants, table = states.MACHINES[kind]
    seen, todo = {constants.INITIAL}, [constants.INITIAL]
    while todo:
        status = todo.pop()
        for t in table:
            if t.source == status and t.target not in seen:
                seen.add(t.target)
                todo.append(t.target)
    return seen


@pytest.mark.parametrize('kind', KINDS)
def test_the_table_uses_exactly_the_declared_statuses(kind):
    constants, table = states.MACHINES[kind]
    named = {t.source for t in table} | {t.target for t in table}
    assert named == set(constants.STATUSES)
    assert len(set(constants.STATUSES)) == len(constants.STATUSES)


@pytest.mark.parametrize('kind', KINDS)
def test_every_status_is_reachable_from_the_initial_one(kind):
    assert _reachable(kind) == set(states.MACHINES[kind][0].STATUSES)


@pytest.mark.parametrize('kind', KINDS)
def test_each_cause_leads_one_way_from_a_status_and_each_move_has_one_cause(kind):
    table = states.transitions(kind)
    by_cause = collections.Counter((t.source, t.cause) for t in table)
    assert [key for key, n in by_cause.items() if n > 1] == []
    by_move = collections.Counter((t.source, t.target) for t in table)
    assert [key for key, n in by_move.items() if n > 1] == []
    assert all(t.source != t.target for t in table)
    assert all(t.cause and t.cause == t.cause.lower() for t in table)


@pytest.mark.parametrize('kind', KINDS)
def test_allowed_sources_and_cause_are_derived_from_the_table(kind):
    constants, table = states.MACHINES[kind]
    rows = {(t.source, t.target): t.cause for t in table}
    for current in constants.STATUSES:
        for target in constants.STATUSES:
            assert states.allowed(kind, current, target) == ((current, target) in rows)
            assert states.cause(kind, current, target) == rows.get((current, target))
    for target in constants.STATUSES:
        assert states.sources(kind, target) == sorted(
            source for source, to in rows if to == target)


def test_the_lease_machine_names_what_moves_a_lease():
    L = states.Lease
    assert states.cause('lease', L.CREATING, L.PENDING) == 'created'
    assert states.cause('lease', L.PENDING, L.STARTING) == 'start_due'
    assert states.cause('lease', L.STARTING, L.ACTIVE) == 'started'
    assert states.cause('lease', L.STARTING, L.ERROR) == 'start_failed'
    assert states.cause('lease', L.ACTIVE, L.TERMINATING) == 'end_due'
    assert states.cause('lease', L.ERROR, L.TERMINATING) == 'end_due'
    assert states.cause('lease', L.TERMINATING, L.TERMINATED) == 'ended'
    assert states.cause('lease', L.ACTIVE, L.UPDATING) == 'update_requested'
    assert states.cause('lease', L.UPDATING, L.ERROR) == 'update_failed'
    assert states.cause('lease', L.DELETING, L.ERROR) == 'delete_failed'
    assert {t.cause for t in states.transitions('lease') if t.target == L.DELETING} == {
        'delete_requested'}
    assert states.cause('lease', L.TERMINATED, L.ACTIVE) is None
    assert states.describe('lease', L.PENDING, L.STARTING) == \
        'PENDING -> STARTING (start_due)'
    assert states.describe('lease', L.DELETING, L.STARTING) == \
        'DELETING -> STARTING (not allowed)'
    # A failed delete goes back to the status the lease had.
    assert states.describe('lease', L.DELETING, L.PENDING) == \
        'DELETING -> PENDING (delete_failed_before_start)'


def test_dead_ends():
    # A deleted reservation stays deleted; a lease being deleted can only fail, back
    # to the stable status it had.
    assert states.sources('reservation', states.Reservation.PENDING) == []
    assert [t.target for t in states.transitions('reservation')
            if t.source == states.Reservation.DELETED] == []
    assert [t.target for t in states.transitions('lease')
            if t.source == states.Lease.DELETING] == list(states.Lease.STABLE)


def test_check_names_what_would_have_led_to_the_target():
    with pytest.raises(exceptions.InvalidStateTransition) as caught:
        states.check('lease', 'L1', 'ACTIVE', 'STARTING')
    assert str(caught.value) == ('Cannot move lease L1 from ACTIVE to STARTING: a lease '
                                 'reaches STARTING only by start_due (from PENDING)')
    assert caught.value.kwargs == {'kind': 'lease', 'id': 'L1', 'current': 'ACTIVE',
                                   'target': 'STARTING'}
    assert caught.value.code == 409
    with pytest.raises(exceptions.InvalidStateTransition) as caught:
        states.check('reservation', 'r1', 'deleted', 'pending')
    assert str(caught.value).endswith('nothing moves a reservation to pending')
    states.check('event', 'e1', 'IN_PROGRESS', 'UNDONE')


def test_derive_lease_status():
    E, L = states.Event, states.Lease
    assert states.derive_lease_status(E.UNDONE, E.UNDONE) == L.PENDING
    assert states.derive_lease_status(E.DONE, E.UNDONE) == L.ACTIVE
    assert states.derive_lease_status(E.DONE, E.DONE) == L.TERMINATED
    assert states.derive_lease_status(E.ERROR, E.UNDONE) == L.ERROR
    assert states.derive_lease_status(E.IN_PROGRESS, E.UNDONE) == L.ERROR
    # Every status it derives is one an update settles into.
    for status in (L.PENDING, L.ACTIVE, L.TERMINATED, L.ERROR):
        assert states.allowed('lease', L.UPDATING, status)
