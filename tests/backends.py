"""The real services tests run against: which are reachable, and which are required.

Defaults match this project's CI machine (MariaDB as root without a password,
PostgreSQL with trust auth, RabbitMQ guest/guest, all on 127.0.0.1); each can be
pointed elsewhere with an environment variable. ``CLIMATE_TEST_REQUIRE_BACKENDS``
(``mysql,postgresql,rabbit,galera,openstack,browser`` or ``all``) turns "not reachable, skip"
into a failure: ``.ci/run`` sets it so a missing backend can never pass silently.
``openstack`` is the integration tier's environment of real OpenStack services.
``galera`` is a 3-node MariaDB Galera cluster (``tools/start-galera.sh``), one URL per
node in ``CLIMATE_TEST_GALERA_URLS`` (comma-separated).
"""

import functools
import os
import shutil
import socket
import sqlite3
import subprocess
from urllib import parse
import uuid

import sqlalchemy as sa

DATABASES = ('sqlite', 'mysql', 'postgresql')
REAL_DATABASES = ('mysql', 'postgresql')
GALERA = 'galera'
ALL_BACKENDS = REAL_DATABASES + ('rabbit', GALERA)
# Not a reachability check: the integration tier's own environment (real Keystone,
# Placement, Nova and Glance, tests/integration/openstack_lite) installed and started.
OPENSTACK = 'openstack'
# Headless Chromium (Debian's ``chromium`` package) driven by Playwright, for the
# calendar page's end-to-end test; CHROMIUM names another executable.
BROWSER = 'browser'
CHROMIUM = os.environ.get('CLIMATE_TEST_CHROMIUM', '/usr/bin/chromium')

ADMIN_URLS = {
    'mysql': os.environ.get('CLIMATE_TEST_MYSQL_URL',
                            'mysql+pymysql://root@127.0.0.1:3306/'
                            '?ssl_disabled=true'),
    'postgresql': os.environ.get('CLIMATE_TEST_POSTGRESQL_URL',
                                 'postgresql+psycopg2://postgres@127.0.0.1:5432/postgres'),
}
GALERA_URLS = [url.strip() for url in os.environ.get(
    'CLIMATE_TEST_GALERA_URLS',
    ','.join(f'mysql+pymysql://root@127.0.0.1:{port}/?ssl_disabled=true'
             for port in (4306, 4307, 4308))).split(',') if url.strip()]
# Databases are created (and migrated) through the first node.
ADMIN_URLS[GALERA] = GALERA_URLS[0]
RABBIT_URL = os.environ.get('CLIMATE_TEST_RABBIT_URL',
                            'rabbit://guest:guest@127.0.0.1:5672/')


def required_backends():
    value = os.environ.get('CLIMATE_TEST_REQUIRE_BACKENDS', '').strip()
    if value == 'all':
        return set(ALL_BACKENDS) | {OPENSTACK, BROWSER}
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
    if backend == GALERA:
        return _galera_unavailable_reason()
    if backend == BROWSER:
        return _browser_unavailable_reason()
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
    return {'connect_timeout': 3} if backend in REAL_DATABASES + (GALERA,) else {}


def _browser_unavailable_reason():
    """Chromium is installed when missing (apt-get, as root); the reason it is not."""
    if not os.path.exists(CHROMIUM) and CHROMIUM == '/usr/bin/chromium' \
            and os.geteuid() == 0 and shutil.which('apt-get'):
        subprocess.run(['apt-get', 'install', '-y', '-q', 'chromium'],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=900, check=False)
    if not os.path.exists(CHROMIUM):
        return f'no Chromium at {CHROMIUM} (apt-get install chromium)'
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return 'the Python package playwright is not installed'
    return None


def _galera_unavailable_reason():
    hint = ('(tools/start-galera.sh starts one)'
            if os.path.exists('/usr/lib/galera/libgalera_smm.so') else
            '(galera-4 is not installed here: tools/start-galera.sh installs it)')
    if len(GALERA_URLS) < 2:
        return f'CLIMATE_TEST_GALERA_URLS names {len(GALERA_URLS)} node(s), not 2 or more'
    for url in GALERA_URLS:
        engine = sa.create_engine(url, connect_args=_connect_args(GALERA))
        try:
            with engine.connect() as conn:
                status = dict(conn.execute(sa.text(
                    "SHOW GLOBAL STATUS WHERE Variable_name IN "
                    "('wsrep_cluster_size', 'wsrep_ready')")).all())
        except Exception as exc:  # any driver error means "not here"
            return f'Galera node not reachable at {engine.url!r} {hint}: {exc}'
        finally:
            engine.dispose()
        if (status.get('wsrep_ready') != 'ON'
                or status.get('wsrep_cluster_size') != str(len(GALERA_URLS))):
            return (f'{engine.url!r} is not a ready node of a {len(GALERA_URLS)}-node '
                    f'Galera cluster {hint}: {status}')
    return None


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
    """A fresh, empty database on one backend, dropped by :meth:`drop`
    (on PostgreSQL, a copy of ``template`` when one is given)."""

    def __init__(self, backend, tmpdir, template=None):
        self.backend = backend
        self.name = f'climate_t_{uuid.uuid4().hex[:12]}'
        if backend == 'sqlite':
            self.url = f'sqlite:///{os.path.join(tmpdir, self.name)}.sqlite'
        else:
            admin = sa.engine.make_url(ADMIN_URLS[backend])
            self._admin = sa.create_engine(admin, isolation_level='AUTOCOMMIT')
            copy = f' TEMPLATE {template}' if template else ''
            with self._admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE {self.name}{copy}'))
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


class GaleraDatabase(ProvisionedDatabase):
    """A database created through the first Galera node, and its URL on every node."""

    def __init__(self, tmpdir):
        super().__init__(GALERA, tmpdir)
        self.node_urls = [
            sa.engine.make_url(url).set(database=self.name)
            .render_as_string(hide_password=False) for url in GALERA_URLS]


class LazyDatabase:
    """A test's database on ``backend``: a fresh empty one, created on first use,
    unless :meth:`use` hands it a migrated copy first (``migrated_database``), so a
    test that asks for both gets one database, as before."""

    def __init__(self, backend, tmpdir):
        self.backend = backend
        self._tmpdir = tmpdir
        self._db = None
        self._release = None

    def use(self, db, release):
        self._db, self._release = db, release

    @property
    def provisioned(self):
        return self._db is not None

    def _get(self):
        if self._db is None:
            self._db = ProvisionedDatabase(self.backend, self._tmpdir)
            self._release = self._db.drop
        return self._db

    name = property(lambda self: self._get().name)
    url = property(lambda self: self._get().url)
    engine = property(lambda self: self._get().engine)

    def drop(self):
        if self._release is not None:
            self._release()
        self._db = self._release = None


class MigratedTemplates:
    """One database per backend migrated to head once (per pytest process), and
    cheap copies of it for each test, instead of running every migration per test:

    * SQLite: a copy of the template file (sqlite3's backup);
    * PostgreSQL: ``CREATE DATABASE ... TEMPLATE``;
    * MariaDB/MySQL: the template itself, emptied when the test releases it (with
      its auto-increment counters reset). ``CREATE TABLE ... LIKE``
      copies would lose the foreign keys.
    """

    def __init__(self, tmpdir, upgrade):
        self._tmpdir = tmpdir
        self._upgrade = upgrade       # upgrade(engine): migrate to head
        self._templates = {}
        self._tables = {}
        self._mysql_in_use = False

    def _template(self, backend):
        if backend not in self._templates:
            db = ProvisionedDatabase(backend, self._tmpdir)
            self._upgrade(db.engine)
            self._tables[backend] = set(sa.inspect(db.engine).get_table_names())
            # PostgreSQL copies only a template nobody is connected to.
            db.engine.dispose()
            self._templates[backend] = db
        return self._templates[backend]

    def copy(self, backend, tmpdir):
        """A database at head on ``backend``, and the function that releases it."""
        template = self._template(backend)
        if backend == 'sqlite':
            db = ProvisionedDatabase(backend, tmpdir)
            _sqlite_copy(template.url, db.url)
            return db, db.drop
        if backend == 'postgresql':
            db = ProvisionedDatabase(backend, tmpdir, template=template.name)
            return db, db.drop
        if self._mysql_in_use:
            # A second database at the same time (one test, two of them): the slow way.
            db = ProvisionedDatabase(backend, tmpdir)
            self._upgrade(db.engine)
            return db, db.drop
        self._mysql_in_use = True
        shared = _SharedDatabase(template)
        return shared, functools.partial(self._empty_mysql, shared)

    def _empty_mysql(self, shared):
        shared.engine.dispose()
        template = self._templates['mysql']
        self._mysql_in_use = False
        try:
            _truncate_all(template.engine, self._tables['mysql'])
        except Exception:
            # Left in a state we cannot clean (a lock held by a leaked connection, a
            # changed schema): start the next test on a new template.
            del self._templates['mysql']
            template.drop()
            raise

    def drop(self):
        for db in self._templates.values():
            db.drop()
        self._templates.clear()


def _sqlite_copy(source_url, target_url):
    # The backup API copies what a WAL file may still hold, unlike a file copy.
    source = sqlite3.connect(source_url[len('sqlite:///'):])
    target = sqlite3.connect(target_url[len('sqlite:///'):])
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


class _SharedDatabase:
    """The MariaDB template lent to one test, with an engine of its own."""

    def __init__(self, template):
        self.backend = template.backend
        self.name = template.name
        self.url = template.url
        self.engine = sa.create_engine(self.url)


def _truncate_all(engine, expected_tables):
    """Empty every table but ``alembic_version``: ``TRUNCATE`` (slow, a new table file)
    only where an auto-increment counter moved, ``DELETE`` elsewhere."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            'SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES '
            'WHERE TABLE_SCHEMA = DATABASE()')).all()
        tables = {name for name, _ in rows}
        if tables != expected_tables:
            raise RuntimeError(f'the shared test database changed tables: {tables}')
        conn.execute(sa.text('SET SESSION lock_wait_timeout = 10'))
        conn.execute(sa.text('SET FOREIGN_KEY_CHECKS = 0'))
        try:
            for name, counter in rows:
                if name == 'alembic_version':
                    continue
                if counter is not None and counter > 1:
                    conn.execute(sa.text(f'TRUNCATE TABLE `{name}`'))
                else:
                    conn.execute(sa.text(f'DELETE FROM `{name}`'))
            conn.commit()
        finally:
            conn.execute(sa.text('SET FOREIGN_KEY_CHECKS = 1'))
    engine.dispose()
