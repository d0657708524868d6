"""The capacity invariant on a multi-writer MariaDB Galera cluster: the race of
``test_managers`` with each ``climate-manager`` writing through a different node, so
that the claims of slices and whole hosts conflict across nodes (certification
failures or brute-force aborts, retried as lost claims). Checked through every node,
and that conflicts did happen (in one of a few rounds) and were retried."""

import pytest

from tests.functional.plugins.capacity import test_managers
from tests.functional.plugins.physical_host import test_galera as host_galera

# This module's ``database`` is a Galera one (the host plugin's fixtures).
database = host_galera.database
node_engines = host_galera.node_engines
capacity_managers = test_managers.capacity_managers
ROUNDS = 4


def test_managers_on_different_nodes_keep_the_capacity_invariant(
        capacity_managers, rabbit_url, database, node_engines):
    group = capacity_managers
    group.start(2, own_config=lambda index: (
        f'[DEFAULT]\ndebug = true\n'
        f'[database]\nconnection = {database.node_urls[index]}\n'))
    test_managers.enroll(group)
    clients = [group.client(rabbit_url), group.client(rabbit_url)]
    before = host_galera.conflict_counts(node_engines)
    # A round can happen to run without a cross-node conflict (a create is a few short
    # transactions): race again, on later windows of the same hosts, until one came.
    for round_ in range(ROUNDS):
        test_managers.race(group, clients, node_engines, days=20 + 10 * round_,
                           seed=16 + round_)
        after = host_galera.conflict_counts(node_engines)
        deltas = {name: after[name] - before[name] for name in after}
        if sum(deltas[name] for name in host_galera.CONFLICT_COUNTERS):
            break
    retries = []
    for process in group.processes:
        with open(process.log_path) as log:
            retries.append(sum(1 for line in log
                               if host_galera.DEADLOCK_RETRY.search(line)))
    report = (f'round {round_ + 1} of {ROUNDS}: Galera counters {deltas}; '
              f'deadlock retries per manager {retries}')
    print(f'\n{report}')
    aborts = sum(deltas[name] for name in host_galera.CONFLICT_COUNTERS)
    if aborts == 0:
        pytest.fail(f'no Galera conflict (a serial run): {report}')
    assert sum(retries) > 0, report
