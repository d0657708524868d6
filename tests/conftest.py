"""Fixtures shared by every tier: per-backend databases, the broker, configuration."""

from climate.common import no_eventlet

# Before anything loads oslo.messaging (and futurist, which would import eventlet).
no_eventlet.hide()

import contextlib

from oslo_config import cfg
import pytest

from climate.db import api as db_api
from climate.db import migration
from tests import backends
from tests.fakes.fixtures import fake_nova  # noqa: F401
from tests.fakes.fixtures import nova_conf  # noqa: F401
from tests.fakes.fixtures import nova_driver  # noqa: F401


def pytest_report_header(config):
    required = ','.join(sorted(backends.required_backends())) or 'none'
    return f'climate: required backends: {required}'


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """On an xdist worker under ``--dist loadgroup``, fail if a test marked
    ``xdist_group`` did not get its group into its node id (as with pytest 9.2 and
    pytest-xdist 3.8): its group's tests would be scattered over the workers, each
    repeating the story's earlier requests and setting its server up again."""
    if getattr(config, 'workerinput', None) is None or \
            not getattr(config.option, 'loadgroup', False):
        return
    lost = [item.nodeid for item in items
            if item.get_closest_marker('xdist_group') and '@' not in item.nodeid]
    if lost:
        raise pytest.UsageError(
            f'pytest-xdist did not group {len(lost)} tests marked xdist_group (e.g. '
            f'{lost[0]}): this pytest and pytest-xdist do not work together; use the '
            f'versions of upper-constraints.txt')


def use_backend(backend):
    backends.check(backend, pytest.skip, pytest.fail)


@pytest.fixture(scope='session')
def migrated_templates(tmp_path_factory):
    """Each backend's database migrated once per pytest process, copied per test."""
    templates = backends.MigratedTemplates(
        str(tmp_path_factory.mktemp('templates')),
        lambda engine: migration.upgrade('head', engine=engine))
    yield templates
    templates.drop()


@pytest.fixture(params=backends.DATABASES)
def database(request, tmp_path):
    """A fresh empty database on each backend in turn (created when first used)."""
    use_backend(request.param)
    db = backends.LazyDatabase(request.param, str(tmp_path))
    yield db
    db.drop()


@pytest.fixture
def migrated_database(database, migrated_templates, tmp_path):
    """A database at the head migration that Climate's ``@reader``/``@writer`` use:
    a copy of the backend's migrated template, which ``database`` is then too."""
    # A database another fixture already made (a test's own, or one used empty first)
    # is migrated where it is.
    if getattr(database, 'provisioned', True):
        migration.upgrade('head', engine=database.engine)
    else:
        database.use(*migrated_templates.copy(database.backend, str(tmp_path)))
    with climate_uses(database):
        yield database


@pytest.fixture(scope='class', params=backends.DATABASES)
def class_migrated_database(request, migrated_templates, tmp_path_factory):
    """``migrated_database`` shared by the tests of a class (a gabbi story's requests),
    on each backend in turn."""
    use_backend(request.param)
    db, release = migrated_templates.copy(
        request.param, str(tmp_path_factory.mktemp('db')))
    try:
        with climate_uses(db):
            yield db
    finally:
        release()


@contextlib.contextmanager
def climate_uses(database):
    """Point Climate's ``@reader``/``@writer`` at ``database`` meanwhile."""
    manager = db_api.get_context_manager().make_new_manager()
    manager.configure(connection=database.url, sqlite_fk=True)
    restore = db_api.get_context_manager().patch_factory(manager)
    try:
        yield
    finally:
        restore()
        manager.writer.get_engine().dispose()


@pytest.fixture
def rabbit_url():
    use_backend('rabbit')
    return backends.RABBIT_URL


@pytest.fixture
def conf():
    """A private ConfigOpts with Climate's options, parsed from no files."""
    import climate.conf as climate_conf
    conf = cfg.ConfigOpts()
    for module in climate_conf.ALL_MODULES:
        module.register_opts(conf)
    conf([], project='climate', default_config_files=[])
    yield conf
    conf.reset()
