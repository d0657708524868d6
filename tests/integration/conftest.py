"""The integration tier: Climate against real Keystone, Placement, Nova and Glance.

Mocks of Nova prove little; this tier proves Climate works with the services it
drives. The session fixture ``openstack`` installs (once, cached) and starts the
openstack-lite environment (``tests/integration/openstack_lite``), hands tests an
``OpenStackLite`` handle and stops the services at the end. When it cannot be built
or started the tests skip with the reason, or fail when ``openstack`` is in
``CLIMATE_TEST_REQUIRE_BACKENDS`` (``all`` includes it; ``.ci/run`` sets that).
Every test under this directory is marked ``integration``.
"""

import pathlib

import pytest

from tests import backends

HERE = pathlib.Path(__file__).resolve().parent
_REPORT = {'environment': None, 'memory': None, 'stopped': None, 'tests': {}}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in pathlib.Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.integration)


def _say(config, line):
    reporter = config.pluginmanager.get_plugin('terminalreporter')
    if reporter is not None:
        reporter.write_line(line)


def _unavailable(reason, detail=''):
    """Skip, or fail with the log tails when the environment is required."""
    if backends.OPENSTACK in backends.required_backends():
        pytest.fail(f'required backend missing: {reason}\n{detail}', pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope='session')
def openstack(request):
    """An ``OpenStackLite`` handle on the running environment (see its module)."""
    from tests.integration.openstack_lite import environment
    from tests.integration.openstack_lite import settings as settings_mod
    settings = settings_mod.Settings.from_env()
    env = environment.Environment(settings)
    _say(request.config, f'\nopenstack-lite: starting in {settings.home} '
                         f'(extra scheduler filters: {", ".join(settings.extra_filters)})')
    try:
        osl = env.start()
    except environment.Unavailable as exc:
        first, _, rest = str(exc).partition('\n')
        _unavailable(f'openstack-lite unavailable: {first}', rest)
    except environment.StartupFailed as exc:
        first, _, rest = str(exc).partition('\n')
        _unavailable(f'openstack-lite did not start: {first} (logs: {settings.log_dir})',
                     rest)
    _REPORT['environment'] = (osl.timings, env.notes, osl.stale_removed)
    _say(request.config, 'openstack-lite: up; ' + ', '.join(
        f'{k} {v:.1f} s' for k, v in osl.timings.items()) + f' ({"; ".join(env.notes)})')
    yield osl
    _REPORT['memory'] = env.memory()
    _REPORT['stopped'] = (env.stop(), env.timings.get('stop'))


def pytest_runtest_logreport(report):
    if report.when == 'call' and HERE in pathlib.Path(report.fspath).resolve().parents:
        _REPORT['tests'][report.nodeid] = report.duration


def pytest_terminal_summary(terminalreporter):
    if _REPORT['environment'] is None:
        return
    timings, notes, removed = _REPORT['environment']
    write = terminalreporter.write_line
    terminalreporter.section('openstack-lite')
    write('startup: ' + ', '.join(f'{k} {v:.1f} s' for k, v in timings.items())
          + (f' ({"; ".join(notes)})' if notes else ''))
    stale = {k: v for k, v in removed.items() if v}
    if stale:
        write(f'stale objects removed at start: {stale}')
    tests = _REPORT['tests']
    if tests:
        write(f'integration tests: {len(tests)} in {sum(tests.values()):.1f} s; slowest: '
              + ', '.join(f'{n.rsplit("::", 1)[-1]} {d:.1f} s' for n, d in
                          sorted(tests.items(), key=lambda kv: -kv[1])[:3]))
    if _REPORT['memory']:
        memory = _REPORT['memory']
        write('memory (RSS/PSS MiB): ' + ', '.join(
            f'{name} {rss}/{pss}' for name, (rss, pss) in memory.items())
            + f'; total {sum(r for r, _ in memory.values())}/'
              f'{sum(p for _, p in memory.values())}')
    if _REPORT['stopped'] is not None:
        names, seconds = _REPORT['stopped']
        write(f'stopped {len(names)} services in {seconds:.1f} s')


@pytest.fixture(scope='session')
def climate(openstack, tmp_path_factory):
    """``climate-api`` + ``climate-manager`` on the catalog's reservation endpoint
    (see ``climate_service``), with the plugins this checkout has."""
    from tests import backends as backends_mod
    from tests.integration import climate_service
    reason = backends_mod.unavailable_reason('mysql')
    if reason:
        _unavailable(f'MariaDB unavailable for Climate: {reason}')
    # The polling monitor finds failed computes quickly (test_host_failures.py).
    service = climate_service.ClimateService(
        openstack, tmp_path_factory.mktemp('climate'),
        plugins=climate_service.available_plugins(),
        extra='[physical:host]\nenable_polling_monitor = true\npolling_interval = 2\n'
              'healing_interval = 0\n')
    try:
        service.start()
    except Exception:
        service.stop()
        raise
    yield service
    service.stop()


@pytest.fixture
def enrolled(openstack, climate):
    """cmp1 (gpu=yes) and cmp2 (gpu=no) enrolled by an admin with ``climate host
    create``; their leases deleted and the hosts unenrolled afterwards."""
    from tests.integration import scenario
    assert 'physical.host.plugin' in climate.plugins
    hosts = {}
    for name, gpu in (('cmp1', 'yes'), ('cmp2', 'no')):
        host = scenario.climate_cli(openstack.operator, 'host', 'create', name,
                                    '--extra', f'gpu={gpu}', '--extra', 'rack=r1')
        hosts[name] = host
    yield hosts
    admin_api = scenario.Reservations(openstack.operator.session(), climate.url)
    for lease in admin_api.ok('GET', '/leases')['leases']:
        admin_api.request('DELETE', f'/leases/{lease["id"]}')
    for host in hosts.values():
        admin_api.request('DELETE', f'/os-hosts/{host["id"]}')
    nova = openstack.nova()
    pool = scenario.aggregate(nova, scenario.FREEPOOL)
    if pool is not None:
        for name in pool.hosts:
            nova.aggregates.remove_host(pool.id, name)
        nova.aggregates.delete(pool.id)
