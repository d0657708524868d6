"""Idempotent creates through the lease service and its RPC client, on every database:
one key makes one lease, however many requests carry it and however they race."""

import datetime
import threading

import pytest
import sqlalchemy as sa

from climate import context as climate_context
from climate import exceptions
from climate.common import states
from climate.common import timeutils
from climate.db import api as db_api
from climate.db import models
from climate.manager import endpoint as endpoint_mod
from climate.manager import rpcapi
from climate.manager import service as service_mod
from climate.plugins import dummy
from tests.functional.manager.conftest import lease_body

START, END = '2099-01-01 10:00', '2099-01-02 10:00'


def body(**extra):
    return lease_body(START, END, **extra)


def lease_count():
    ctx = climate_context.RequestContext(is_admin=True)
    with db_api.reader.using(ctx):
        return ctx.session.execute(
            sa.select(sa.func.count()).select_from(models.Lease)).scalar_one()


def key_rows():
    ctx = climate_context.RequestContext(is_admin=True)
    with db_api.reader.using(ctx):
        return ctx.session.execute(sa.select(models.IdempotencyKey)).scalars().all()


def test_same_key_same_body_is_the_same_lease(service, ctx):
    first = service.create_lease(ctx, body(), idempotency_key='k1')
    again = service.create_lease(ctx, body(), idempotency_key='k1')
    assert again['id'] == first['id']
    assert again['status'] == states.Lease.PENDING
    assert lease_count() == 1


def test_same_key_other_body_is_409(service, ctx):
    service.create_lease(ctx, body(), idempotency_key='k1')
    with pytest.raises(exceptions.Conflict, match='different request'):
        service.create_lease(ctx, body(name='other'), idempotency_key='k1')
    assert lease_count() == 1


def test_without_a_key_every_create_makes_a_lease(service, ctx):
    service.create_lease(ctx, body())
    service.create_lease(ctx, body())
    assert lease_count() == 2
    assert key_rows() == []


def test_keys_are_per_project(service, ctx):
    other = climate_context.RequestContext(user_id='u2', project_id='p2',
                                           roles=['member'])
    mine = service.create_lease(ctx, body(), idempotency_key='k1')
    theirs = service.create_lease(other, body(), idempotency_key='k1')
    assert mine['id'] != theirs['id']


@pytest.mark.parametrize('key', ['', 'k' * 256, 'tab\there', 'clé', 42])
def test_bad_keys_are_400(service, ctx, key):
    with pytest.raises(exceptions.InvalidInput, match='Idempotency-Key'):
        service.create_lease(ctx, body(), idempotency_key=key)
    assert lease_count() == 0


def test_expired_key_makes_a_new_lease_and_is_purged(service, ctx, manager_conf):
    first = service.create_lease(ctx, body(), idempotency_key='k1')
    service.create_lease(ctx, body(), idempotency_key='old-other')
    # Both keys two days old: past the default time to live of a day.
    with db_api.writer.using(ctx):
        ctx.session.execute(sa.update(models.IdempotencyKey).values(
            created_at=timeutils.utcnow() - datetime.timedelta(days=2)))
    second = service.create_lease(ctx, body(), idempotency_key='k1')
    assert second['id'] != first['id']
    rows = key_rows()
    assert [(r.idempotency_key, r.lease_id) for r in rows] == [('k1', second['id'])]


def test_ttl_is_the_api_option(service, ctx, manager_conf):
    manager_conf.set_override('idempotency_ttl', 1, group='api')
    first = service.create_lease(ctx, body(), idempotency_key='k1')
    with db_api.writer.using(ctx):
        ctx.session.execute(sa.update(models.IdempotencyKey).values(
            created_at=timeutils.utcnow() - datetime.timedelta(seconds=2)))
    assert service.create_lease(ctx, body(), idempotency_key='k1')['id'] != first['id']


def test_retry_after_delete_is_409_and_makes_nothing(service, ctx):
    lease = service.create_lease(ctx, body(), idempotency_key='k1')
    service.delete_lease(ctx, lease['id'])
    with pytest.raises(exceptions.Conflict, match='has been deleted'):
        service.create_lease(ctx, body(), idempotency_key='k1')
    assert lease_count() == 0


class FailingPrepare(dummy.DummyPlugin):
    def prepare(self, context, lease, reservation):
        raise exceptions.NotEnoughHostsAvailable()


def test_a_rolled_back_create_frees_its_key(service, ctx, manager_conf):
    plugin = service.plugins['dummy:resource']
    service.plugins['dummy:resource'] = FailingPrepare(manager_conf)
    with pytest.raises(exceptions.NotEnoughHostsAvailable):
        service.create_lease(ctx, body(), idempotency_key='k1')
    assert key_rows() == []
    service.plugins['dummy:resource'] = plugin
    lease = service.create_lease(ctx, body(), idempotency_key='k1')
    assert lease['status'] == states.Lease.PENDING


class GatedPrepare(dummy.DummyPlugin):
    """``prepare`` waits for ``gate``: the lease stays CREATING until then."""

    def __init__(self, conf):
        super().__init__(conf)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def prepare(self, context, lease, reservation):
        self.entered.set()
        assert self.gate.wait(30)
        super().prepare(context, lease, reservation)


def _in_thread(function, *args, **kwargs):
    outcome = {}

    def run():
        try:
            outcome['value'] = function(*args, **kwargs)
        except Exception as exc:  # the test looks at it
            outcome['error'] = exc
    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_retry_during_the_first_request_waits_for_its_lease(service, ctx, manager_conf):
    plugin = GatedPrepare(manager_conf)
    service.plugins['dummy:resource'] = plugin
    first_thread, first = _in_thread(service.create_lease, ctx, body(),
                                     idempotency_key='k1')
    assert plugin.entered.wait(10)
    retry_ctx = climate_context.RequestContext(user_id='u1', project_id='p1',
                                               roles=['member'])
    retry_thread, retried = _in_thread(service.create_lease, retry_ctx, body(),
                                       idempotency_key='k1')
    plugin.gate.set()
    first_thread.join(30)
    retry_thread.join(30)
    assert 'error' not in first and 'error' not in retried, (first, retried)
    assert retried['value']['id'] == first['value']['id']
    assert retried['value']['status'] == states.Lease.PENDING
    assert lease_count() == 1


def test_retry_while_the_first_request_is_stuck_is_409(service, ctx, manager_conf,
                                                       monkeypatch):
    monkeypatch.setattr(service_mod, 'IN_FLIGHT_WAIT', 0.5)
    plugin = GatedPrepare(manager_conf)
    service.plugins['dummy:resource'] = plugin
    first_thread, first = _in_thread(service.create_lease, ctx, body(),
                                     idempotency_key='k1')
    try:
        assert plugin.entered.wait(10)
        retry_ctx = climate_context.RequestContext(user_id='u1', project_id='p1',
                                                   roles=['member'])
        with pytest.raises(exceptions.Conflict, match='in progress'):
            service.create_lease(retry_ctx, body(), idempotency_key='k1')
    finally:
        plugin.gate.set()
        first_thread.join(30)
    assert lease_count() == 1


def test_concurrent_creates_with_one_key_make_one_lease(service, manager_conf):
    """N requests with one key at once, through the manager's RPC client (as the API
    calls it): all answer the same lease, and only one exists."""
    api = rpcapi.ManagerAPI(manager_conf,
                            local=endpoint_mod.ManagerEndpoint(service, None, {}))
    count = 8
    barrier = threading.Barrier(count)
    results = [None] * count

    def create(index):
        ctx = climate_context.RequestContext(user_id='u1', project_id='p1',
                                             roles=['member'])
        barrier.wait()
        try:
            results[index] = api.create_lease(ctx, body(), 'one-key')
        except Exception as exc:  # the assertion below shows it
            results[index] = exc

    threads = [threading.Thread(target=create, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    errors = [r for r in results if not isinstance(r, dict)]
    assert not errors, errors
    assert len({r['id'] for r in results}) == 1
    assert lease_count() == 1
    assert len(key_rows()) == 1


def test_rpc_client_without_a_key_calls_as_before(service, manager_conf, ctx):
    api = rpcapi.ManagerAPI(manager_conf,
                            local=endpoint_mod.ManagerEndpoint(service, None, {}))
    api.create_lease(ctx, body())
    api.create_lease(ctx, body())
    assert lease_count() == 2
