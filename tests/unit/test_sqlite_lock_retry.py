"""A lease write that meets SQLite's "database is locked" is retried, not failed."""

import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from climate import exceptions
from climate.db import retry

RETRIES = 3


def _locked():
    return sa_exc.OperationalError('BEGIN IMMEDIATE', {},
                                   sqlite3.OperationalError('database is locked'))


def test_locked_database_is_retried():
    attempts = []

    def operation():
        attempts.append(1)
        if len(attempts) < 3:
            raise _locked()
        return 'done'
    assert retry.with_claim_retries(operation, RETRIES) == 'done'
    assert len(attempts) == 3


def test_lock_that_never_clears_is_a_409():
    def operation():
        raise _locked()
    with pytest.raises(exceptions.Conflict) as err:
        retry.with_claim_retries(operation, RETRIES)
    assert err.value.code == 409


def test_other_operational_errors_are_not_retried():
    attempts = []

    def operation():
        attempts.append(1)
        raise sa_exc.OperationalError('SELECT', {}, sqlite3.OperationalError('no table'))
    with pytest.raises(sa_exc.OperationalError):
        retry.with_claim_retries(operation, RETRIES)
    assert len(attempts) == 1
