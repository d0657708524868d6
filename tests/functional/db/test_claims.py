"""The generation-guarded claim on compute hosts (climate.db.claims), on each backend."""

import datetime
import threading

from oslo_db.sqlalchemy import enginefacade
import pytest
import sqlalchemy as sa

from climate import exceptions
from climate.db import api as db_api
from climate.db import claims
from climate.db import models

H = models.ComputeHost.__table__
HOUR = datetime.timedelta(hours=1)


@enginefacade.transaction_context_provider
class _Ctx:
    """A transaction context with ``session`` (as Climate's RequestContext has)."""


def _add_hosts(engine, count):
    with engine.begin() as conn:
        return [conn.execute(sa.insert(H).values(
            hypervisor_hostname=f'compute-{i}', reservable=True, generation=0,
            vcpus=1, memory_mb=1, local_gb=1, created_at=sa.func.now())
        ).inserted_primary_key[0] for i in range(count)]


def _generations(engine):
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(H.c.id, H.c.generation)).all())


def _read(context, host_ids):
    """What a search does: read the generations, in the caller's transaction."""
    return [claims.HostGeneration(*row) for row in context.session.execute(
        sa.select(H.c.id, H.c.generation).where(H.c.id.in_(host_ids))
        .order_by(H.c.id))]


def _claim(host_ids, seen=None, span=HOUR):
    context = _Ctx()
    with db_api.writer.using(context):
        claims.claim(context, seen if seen is not None else _read(context, host_ids),
                     span)


def test_a_claim_bumps_the_generation_of_each_claimed_host_only(migrated_database):
    first, second, third = _add_hosts(migrated_database.engine, 3)
    _claim([first, third])
    assert _generations(migrated_database.engine) == {first: 1, second: 0, third: 1}
    _claim([first])
    assert _generations(migrated_database.engine) == {first: 2, second: 0, third: 1}


def test_a_second_claim_with_the_same_generations_conflicts(migrated_database):
    hosts = _add_hosts(migrated_database.engine, 2)
    context = _Ctx()
    with db_api.reader.using(context):
        seen = _read(context, hosts)
    _claim(hosts, seen)
    with pytest.raises(exceptions.ClaimConflict):
        _claim(hosts, seen)
    assert _generations(migrated_database.engine) == {h: 1 for h in hosts}


def test_a_claim_with_one_stale_host_changes_nothing(migrated_database):
    """One of two hosts changed since it was read: the claim raises, and the rolled
    back transaction leaves the other host's generation as it was."""
    fresh, stale = _add_hosts(migrated_database.engine, 2)
    context = _Ctx()
    with db_api.reader.using(context):
        seen = _read(context, [fresh, stale])
    _claim([stale])
    with pytest.raises(exceptions.ClaimConflict) as raised:
        _claim([fresh, stale], seen)
    assert f'{fresh}, {stale}' in str(raised.value)
    assert _generations(migrated_database.engine) == {fresh: 0, stale: 1}


def test_claiming_no_host_and_bumping_no_host_do_nothing(migrated_database):
    host, = _add_hosts(migrated_database.engine, 1)
    context = _Ctx()
    with db_api.writer.using(context):
        claims.claim(context, [], HOUR)
        claims.bump(context, [])
    assert _generations(migrated_database.engine) == {host: 0}


def test_bump_needs_no_generation(migrated_database):
    first, second = _add_hosts(migrated_database.engine, 2)
    _claim([first])
    context = _Ctx()
    with db_api.writer.using(context):
        claims.bump(context, {first, second})
    assert _generations(migrated_database.engine) == {first: 2, second: 1}


@pytest.mark.parametrize('database', ['mysql', 'postgresql'], indirect=True)
def test_of_two_concurrent_claims_of_the_same_host_one_wins(migrated_database):
    """Both transactions read the same generation; the second UPDATE waits for the
    first transaction's lock and then matches no row. (SQLite runs one writer at a
    time, so the two cannot overlap there.)"""
    host, = _add_hosts(migrated_database.engine, 1)
    both_read = threading.Barrier(2, timeout=10)
    first_claimed = threading.Event()
    outcomes = {}

    def run(name):
        context = _Ctx()
        try:
            with db_api.writer.using(context):
                seen = _read(context, [host])
                both_read.wait()
                if name == 'second':
                    first_claimed.wait(10)
                claims.claim(context, seen, HOUR)
                if name == 'first':
                    first_claimed.set()
                    # Commit only once the second UPDATE had time to block on the row.
                    threading.Event().wait(0.5)
            outcomes[name] = 'claimed'
        except exceptions.ClaimConflict:
            outcomes[name] = 'conflict'

    threads = [threading.Thread(target=run, args=(name,))
               for name in ('first', 'second')]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes == {'first': 'claimed', 'second': 'conflict'}
    assert _generations(migrated_database.engine) == {host: 1}


def _longest(engine):
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(H.c.id, H.c.longest_allocation)).all())


def test_a_claim_records_the_longest_window_and_never_lowers_it(migrated_database):
    first, second = _add_hosts(migrated_database.engine, 2)
    _claim([first], span=3 * HOUR)
    _claim([first, second], span=HOUR + datetime.timedelta(seconds=0.5))
    assert _longest(migrated_database.engine) == {first: 3 * 3600, second: 3601}
    context = _Ctx()
    with db_api.reader.using(context):
        assert claims.longest(context) == 3 * HOUR


def test_a_bounded_search_runs_again_when_its_guess_was_short(migrated_database,
                                                              monkeypatch):
    """The span a search bounds its scan with is a guess checked after it: an
    allocation longer than the guess, claimed by another process, makes it run again
    with the longer span, so that it cannot miss that allocation."""
    monkeypatch.setattr(claims._Guess, 'value', datetime.timedelta(0))
    host, = _add_hosts(migrated_database.engine, 1)
    _claim([host], span=HOUR)
    context = _Ctx()
    seen = []
    with db_api.reader.using(context):
        claims.bounded(context, seen.append)
    assert seen == [datetime.timedelta(0), HOUR]
    seen.clear()
    with db_api.reader.using(context):
        claims.bounded(context, seen.append)
    assert seen == [HOUR]
    # Another process claims a longer window than this one has seen.
    _claim([host], span=100 * 24 * HOUR)
    seen.clear()
    with db_api.reader.using(context):
        claims.bounded(context, seen.append)
    assert seen == [HOUR, 100 * 24 * HOUR]
