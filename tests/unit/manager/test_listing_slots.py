"""At most ``LISTING_SLOTS`` listing pages are built at once in a manager; the other
requests wait their turn and are then answered."""

import threading

from climate.manager import service as service_mod
from tests.manager_processes import wait_for

CALLERS = service_mod.LISTING_SLOTS + 2


def test_pages_beyond_the_slots_wait_their_turn():
    service = service_mod.LeaseService(conf=None, plugins={}, notifier=None)
    gate = threading.Event()
    lock = threading.Lock()
    state = {'active': 0, 'most': 0}

    def page_pieces(context, query):
        with lock:
            state['active'] += 1
            state['most'] = max(state['most'], state['active'])
        gate.wait(30)
        with lock:
            state['active'] -= 1
        marker = query['marker']
        return ['[', f'{{"id": "{marker}"}}', ']'], 1, marker

    service._page_pieces = page_pieces
    answers = []
    callers = [threading.Thread(target=lambda i=i: answers.append(
        service.list_leases_page(None, marker=f'l{i}'))) for i in range(CALLERS)]
    for caller in callers:
        caller.start()
    wait_for(lambda: state['active'] == service_mod.LISTING_SLOTS)
    # The other two are blocked on the slots: they never reach the database.
    assert not any(wait_for_more(state) for _ in range(3))
    gate.set()
    for caller in callers:
        caller.join(30)
    assert state['most'] == service_mod.LISTING_SLOTS
    assert sorted(a['last_id'] for a in answers) == sorted(f'l{i}' for i in range(CALLERS))
    assert all(a['count'] == 1 for a in answers)


def wait_for_more(state):
    try:
        wait_for(lambda: state['active'] > service_mod.LISTING_SLOTS, timeout=0.1)
    except AssertionError:
        return False
    return True
