"""Fixtures for the API's functional tests: an API server in this process, wired to
a manager in this process (each database backend) or over RabbitMQ."""

import contextlib
import threading

from oslo_config import cfg
import pytest

from climate.api import app as api_app
from climate.api import server as api_server
import climate.conf as climate_conf
from climate.manager import server as manager_server
from climate.plugins import dummy
from tests.functional.api import host_plugin

# Small, so that a story can exceed it with a checked-in file.
TEST_BODY_LIMIT = 4096
# Numeric hypervisor ids, as Nova's (python-blazarclient takes a numeric host id as
# an id, anything else as a name); the stories refer to hosts "1" and "2".
HYPERVISORS = ['compute-1:id=1', 'compute-2:id=2', 'compute-3:id=3']


class NoNotifier:
    enabled = False

    def notify(self, context, event_type, lease):
        pass


def make_conf(files=(), **overrides):
    conf = cfg.ConfigOpts()
    for module in climate_conf.ALL_MODULES:
        module.register_opts(conf)
    dummy.register_opts(conf)
    conf([], project='climate', default_config_files=list(files))
    conf.set_override('auth_strategy', 'noauth')
    conf.set_override('max_request_body_size', TEST_BODY_LIMIT, group='api')
    conf.set_override('max_poll_interval', 1, group='manager')
    conf.set_override('hypervisors', HYPERVISORS, group='compute_memory')
    for key, value in overrides.items():
        group, _, name = key.rpartition('.')
        conf.set_override(name, value, group=group or None)
    return conf


class LiveServer:
    """The API's own server (waitress, as climate-api runs it) on a free port of
    127.0.0.1."""

    def __init__(self, app):
        self.httpd = api_server.make_server(app, '127.0.0.1', 0)
        self.host, self.port = '127.0.0.1', self.httpd.server_port
        self.url = f'http://{self.host}:{self.port}'
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def api_conf():
    conf = make_conf()
    yield conf
    conf.reset()


def local_plugins(conf, hosts=True):
    plugins = {'dummy:resource': dummy.DummyPlugin(conf)}
    if hosts:
        plugins['physical:host'] = host_plugin.HostPlugin(conf)
    return plugins


@contextlib.contextmanager
def local_server(conf, hosts=True, start=True, plugins=None):
    """The API wired to a manager in this process (``climate-all-in-one``'s wiring:
    no RPC server, local calls), with the dummy and (``hosts``) the test host plugins,
    or ``plugins`` when given; ``start`` runs its event engine."""
    manager = manager_server.Manager(conf, serve_rpc=False,
                                     plugins=plugins or local_plugins(conf, hosts),
                                     notifier=NoNotifier())
    if start:
        manager.start()
    server = LiveServer(api_app.build(conf, manager.api))
    server.manager = manager
    try:
        yield server
    finally:
        server.stop()
        if start:
            manager.stop()


@pytest.fixture
def local_api(migrated_database, api_conf):
    """The API wired to a manager in this process (``climate-all-in-one``'s wiring:
    no RPC server, local calls), with the dummy and the test host plugins, on each
    database backend."""
    with local_server(api_conf) as server:
        yield server


@pytest.fixture
def local_api_without_hosts(migrated_database, api_conf):
    with local_server(api_conf, hosts=False, start=False) as server:
        yield server


@pytest.fixture
def fake_keystone():
    from tests.functional.api import fake_keystone as module
    keystone = module.FakeKeystone()
    yield keystone
    keystone.stop()


@contextlib.contextmanager
def keystone_server(keystone, tmp_path):
    """The API behind keystonemiddleware, validating tokens with ``keystone``."""
    config = tmp_path / 'keystone.conf'
    config.write_text(keystone.authtoken_section())
    conf = make_conf(files=[str(config)], auth_strategy='keystone')
    try:
        with local_server(conf, start=False) as server:
            server.keystone = keystone
            yield server
    finally:
        conf.reset()


@pytest.fixture
def keystone_api(migrated_database, fake_keystone, tmp_path):
    """The API behind keystonemiddleware, validating tokens with the fake Keystone."""
    with keystone_server(fake_keystone, tmp_path) as server:
        yield server


@contextlib.contextmanager
def rabbit_server(database, rabbit_url, tmp_path, monkeypatch):
    """The API calling a ``climate-manager`` process over RabbitMQ (rpcapi), with the
    dummy and test host plugins in the manager."""
    from tests import manager_processes
    from tests.functional.api import plugin_dist
    env = plugin_dist.environ(tmp_path / 'entry-points')
    monkeypatch.setenv('PYTHONPATH', env['PYTHONPATH'])
    managers = manager_processes.Managers(
        database, rabbit_url, tmp_path,
        manager_options={'plugins': f'dummy.plugin, {plugin_dist.ENTRY_POINT}'})
    managers.start(1)
    conf = make_conf()
    server = LiveServer(api_app.build(conf, managers.api))
    try:
        yield server
    finally:
        server.stop()
        managers.stop()
        conf.reset()


@pytest.fixture
def rabbit_api(database, rabbit_url, tmp_path, monkeypatch):
    """The API calling a ``climate-manager`` process over RabbitMQ (rpcapi), with the
    dummy and test host plugins in the manager."""
    with rabbit_server(database, rabbit_url, tmp_path, monkeypatch) as server:
        yield server
