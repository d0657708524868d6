"""A manager that died mid-request leaves leases CREATING, UPDATING or DELETING; the
next engine settles them after ``[manager] stuck_lease_timeout``."""

import datetime

import pytest

from climate import exceptions
from climate.common import timeutils
from climate.db import api as db_api
from climate.db import leases as lease_db
from climate.manager import engine as engine_mod
from climate.plugins import dummy
from tests.functional.manager.conftest import lease_body
from tests.functional.manager.conftest import soon
from tests.functional.manager.conftest import wait_for


def _stuck(ctx, lease_id, status, minutes_ago=30):
    """As a dead manager leaves it: in ``status``, last touched long ago."""
    with db_api.writer.using(ctx):
        row = lease_db.get(ctx, lease_id)
        row.status = status
        row.updated_at = timeutils.utcnow() - datetime.timedelta(minutes=minutes_ago)


def _recover(service, ctx):
    service.recover(ctx, timeutils.utcnow() - datetime.timedelta(minutes=10))


def _done(service, action):
    return [e for e in dummy.read_journal(service.conf.dummy_plugin.journal)
            if e['action'] == action and e['phase'] == 'done']


def test_lease_left_creating_is_rolled_back_and_released(service, ctx):
    lease = service.create_lease(ctx, lease_body(soon(3600), soon(7200)))
    _stuck(ctx, lease['id'], 'CREATING')
    _recover(service, ctx)
    with pytest.raises(exceptions.LeaseNotFound):
        service.get_lease(ctx, lease['id'])
    assert [e['lease_id'] for e in _done(service, 'release')] == [lease['id']]


def test_lease_left_updating_gets_the_status_its_events_say(service, ctx):
    lease = service.create_lease(ctx, lease_body(soon(3600), soon(7200)))
    _stuck(ctx, lease['id'], 'UPDATING')
    _recover(service, ctx)
    assert service.get_lease(ctx, lease['id'])['status'] == 'PENDING'


def test_lease_left_deleting_is_deleted(service, ctx):
    lease = service.create_lease(ctx, lease_body(soon(3600), soon(7200)))
    _stuck(ctx, lease['id'], 'DELETING')
    _recover(service, ctx)
    with pytest.raises(exceptions.LeaseNotFound):
        service.get_lease(ctx, lease['id'])


def test_recent_requests_in_progress_are_left_alone(service, ctx):
    lease = service.create_lease(ctx, lease_body(soon(3600), soon(7200)))
    _stuck(ctx, lease['id'], 'UPDATING', minutes_ago=1)
    _recover(service, ctx)
    assert service.get_lease(ctx, lease['id'])['status'] == 'UPDATING'


def test_engine_recovers_on_start_up(service, ctx, manager_conf):
    lease = service.create_lease(ctx, lease_body(soon(3600), soon(7200)))
    _stuck(ctx, lease['id'], 'DELETING')
    manager_conf.set_override('stuck_lease_timeout', 60, group='manager')
    engine = engine_mod.EventEngine(manager_conf, service)
    engine.start()
    try:
        def gone():
            try:
                service.get_lease(ctx, lease['id'])
            except exceptions.LeaseNotFound:
                return True
        wait_for(gone, timeout=10)
    finally:
        engine.stop()
