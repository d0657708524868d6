"""A lease write that meets SQLite's "database is locked" is retried, not failed."""

import sqlite3

import pytest
from oslo_config import cfg
from sqlalchemy import exc as sa_exc

import climate.conf as climate_conf
from climate import exceptions
from climate.manager import service as service_mod


def _locked():
    return sa_exc.OperationalError('BEGIN IMMEDIATE', {},
                                   sqlite3.OperationalError('database is locked'))


@pytest.fixture
def service():
    conf = cfg.ConfigOpts()
    for module in climate_conf.ALL_MODULES:
        module.register_opts(conf)
    conf([], project='climate', default_config_files=[])
    conf.set_override('claim_retries', 3, group='manager')
    yield service_mod.LeaseService(conf, {}, notifier=None)
    conf.reset()


def test_locked_database_is_retried(service):
    attempts = []

    def operation():
        attempts.append(1)
        if len(attempts) < 3:
            raise _locked()
        return 'done'
    assert service._with_claim_retries(operation) == 'done'
    assert len(attempts) == 3


def test_lock_that_never_clears_is_a_409(service):
    def operation():
        raise _locked()
    with pytest.raises(exceptions.Conflict) as err:
        service._with_claim_retries(operation)
    assert err.value.code == 409


def test_other_operational_errors_are_not_retried(service):
    attempts = []

    def operation():
        attempts.append(1)
        raise sa_exc.OperationalError('SELECT', {}, sqlite3.OperationalError('no table'))
    with pytest.raises(sa_exc.OperationalError):
        service._with_claim_retries(operation)
    assert len(attempts) == 1
