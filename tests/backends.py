"""The real services tests run against: which are reachable, and which are required.

Defaults match this project's CI machine (MariaDB as root without a password,
PostgreSQL with trust auth, RabbitMQ guest/guest, all on 127.0.0.1); each can be
pointed elsewhere with an environment variable. ``CLIMATE_TEST_REQUIRE_BACKENDS``
(``mysql,postgresql,rabbit,openstack`` or ``all``) turns "not reachable, skip" into a
failure: ``.ci/run`` sets it so a missing backend can never pass silently.
``openstack`` is the integration tier's environment of real OpenStack services.
"""

import functools
import os
import socket
import uuid
from urllib import parse

import sqlalchemy as sa

DATABASES = ('sqlite', 'mysql', 'postgresql')
REAL_DATABASES = ('mysql', 'postgresql')
ALL_BACKENDS = REAL_DATABASES + ('rabbit',)
# Not a reachability check: the integration tier's own environment (real Keystone,
# Placement, Nova and Glance, tests/integration/openstack_lite) installed and started.
OPENSTACK = 'openstack'

ADMIN_URLS = {
    'mysql': os.environ.get('CLIMATE_TEST_MYSQL_URL',
                            'mysql+pymysql://root@127.0.0.1:3306/'
                            '?ssl_disabled=true'),
    'postgresql': os.environ.get('CLIMATE_TEST_POSTGRESQL_URL',
                                 'postgresql+psycopg2://postgres@127.0.0.1:5432/postgres'),
}
RABBIT_URL = os.environ.get('CLIMATE_TEST_RABBIT_URL',
                            'rabbit://guest:guest@127.0.0.1:5672/')


def required_backends():
    value = os.environ.get('CLIMATE_TEST_REQUIRE_BACKENDS', '').strip()
    if value == 'all':
        return set(ALL_BACKENDS) | {OPENSTACK}
    return {name.strip() for name in value.split(',') if name.strip()}


class BackendUnavailable(Exception):
    pass


def _port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@functools.lru_cache(maxsize=None)
def unavailable_reason(backend):
    """``None`` when ``backend`` can be used, else why not."""
    if backend == 'sqlite':
        return None
    if backend == 'rabbit':
        url = parse.urlsplit(RABBIT_URL)
        if not _port_open(url.hostname, url.port or 5672):
            return f'RabbitMQ not reachable at {url.hostname}:{url.port or 5672}'
        return None
    engine = sa.create_engine(ADMIN_URLS[backend], connect_args=_connect_args(backend))
    try:
        with engine.connect() as conn:
            conn.execute(sa.text('SELECT 1'))
    except Exception as exc:  # any driver error means "not here"
        return f'{backend} not reachable at {engine.url!r}: {exc}'
    finally:
        engine.dispose()
    return None


def _connect_args(backend):
    return {'connect_timeout': 3} if backend in REAL_DATABASES else {}


def skip_or_fail(backend, reason, skip, fail):
    """Skip with ``reason``, or fail when ``backend`` is required."""
    if backend in required_backends():
        fail(f'required backend missing: {reason}')
    skip(reason)


def check(backend, skip, fail):
    """Skip (or, when required, fail) the calling test if ``backend`` is missing."""
    reason = unavailable_reason(backend)
    if reason is not None:
        skip_or_fail(backend, reason, skip, fail)


class ProvisionedDatabase:
    """A fresh, empty database on one backend, dropped by :meth:`drop`."""

    def __init__(self, backend, tmpdir):
        self.backend = backend
        self.name = f'climate_t_{uuid.uuid4().hex[:12]}'
        if backend == 'sqlite':
            self.url = f'sqlite:///{os.path.join(tmpdir, self.name)}.sqlite'
        else:
            admin = sa.engine.make_url(ADMIN_URLS[backend])
            self._admin = sa.create_engine(admin, isolation_level='AUTOCOMMIT')
            with self._admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE {self.name}'))
            self.url = admin.set(database=self.name).render_as_string(hide_password=False)
        self.engine = sa.create_engine(self.url)

    def drop(self):
        self.engine.dispose()
        if self.backend == 'sqlite':
            return
        with self._admin.connect() as conn:
            if self.backend == 'postgresql':
                conn.execute(sa.text(
                    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                    'WHERE datname = :name AND pid <> pg_backend_pid()'),
                    {'name': self.name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS {self.name}'))
        self._admin.dispose()
