"""The openstack-lite tooling's own logic, without starting any OpenStack service."""

import os
import pathlib
import subprocess
import sys

import pytest

from tests.integration.openstack_lite import config_files
from tests.integration.openstack_lite import neutron_stub
from tests.integration.openstack_lite import processes
from tests.integration.openstack_lite import settings as settings_mod


def test_parse_computes():
    assert settings_mod.parse_computes('a:16:65536:500, b:8:32768:200') == (
        settings_mod.Compute('a', 16, 65536, 500), settings_mod.Compute('b', 8, 32768, 200))
    with pytest.raises(ValueError):
        settings_mod.parse_computes('a:1:1:1 a:2:2:2')
    with pytest.raises(ValueError):
        settings_mod.parse_computes('a:1:1')


def _repo(tmp_path, filter_source=None):
    package = tmp_path / 'climate/scheduler'
    package.mkdir(parents=True)
    if filter_source is not None:
        (package / 'filter.py').write_text(filter_source)
    return tmp_path


def test_climate_filter_loaded_only_once_it_exists(tmp_path, monkeypatch):
    monkeypatch.delenv('CLIMATE_OSL_EXTRA_FILTERS', raising=False)
    probe = settings_mod.PROBE_FILTER
    assert settings_mod.extra_filters(_repo(tmp_path / 'none')) == (probe,)
    assert settings_mod.extra_filters(_repo(tmp_path / 'wip', '# todo\n')) == (probe,)
    landed = _repo(tmp_path / 'landed', 'class ClimateFilter(object):\n    pass\n')
    assert settings_mod.extra_filters(landed) == (settings_mod.CLIMATE_FILTER, probe)
    monkeypatch.setenv('CLIMATE_OSL_EXTRA_FILTERS', 'none')
    assert settings_mod.extra_filters(landed) == (probe,)
    monkeypatch.setenv('CLIMATE_OSL_EXTRA_FILTERS', 'pkg.mod.One, pkg.mod.Two')
    assert settings_mod.extra_filters(landed) == ('pkg.mod.One', 'pkg.mod.Two', probe)


def test_settings_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv('CLIMATE_OSL_HOME', str(tmp_path))
    monkeypatch.setenv('CLIMATE_OSL_DB_PREFIX', 'other_')
    monkeypatch.setenv('CLIMATE_OSL_NOVA_API_PORT', '18774')
    monkeypatch.setenv('CLIMATE_OSL_MYSQL_URL', 'mysql+pymysql://u:p@db:3307/')
    settings = settings_mod.Settings.from_env()
    assert settings.home == tmp_path and settings.rabbit_vhost == 'other'
    assert settings.url('nova-api', '/v2.1') == 'http://127.0.0.1:18774/v2.1'
    assert settings.database_url('placement') == (
        'mysql+pymysql://u:p@db:3307/other_placement?charset=utf8')
    assert 'other_nova_api' in settings.database_names
    monkeypatch.setenv('CLIMATE_OSL_DB_PREFIX', 'bad-prefix;')
    with pytest.raises(ValueError):
        settings_mod.Settings.from_env()


def test_render_repeats_list_options():
    text = config_files.render({'filter_scheduler': {
        'available_filters': ['a.all', 'b.One'], 'track': True}})
    assert text == ('[filter_scheduler]\navailable_filters = a.all\n'
                    'available_filters = b.One\ntrack = true\n')


def test_scheduler_conf_enables_extra_filters(monkeypatch):
    monkeypatch.setenv('CLIMATE_OSL_EXTRA_FILTERS', 'x.y.ClimateFilter')
    settings = settings_mod.Settings.from_env()
    conf = config_files.scheduler_conf(settings)['filter_scheduler']
    assert conf['available_filters'] == ['nova.scheduler.filters.all_filters',
                                         'x.y.ClimateFilter', settings_mod.PROBE_FILTER]
    assert conf['enabled_filters'].split(',')[-2:] == ['ClimateFilter',
                                                      'OnlyHostHintFilter']


@pytest.mark.parametrize('method,path,status,body', [
    ('GET', '/v2.0/ports?device_id=x', 200, {'ports': []}),
    ('GET', '/v2.0/security-groups.json', 200, {'security_groups': []}),
    ('GET', '/v2.0/ports/abc', 404, None),
    ('DELETE', '/v2.0/ports/abc', 204, None),
    ('POST', '/v2.0/ports', 400, None),
])
def test_neutron_stub_routes(method, path, status, body):
    got_status, got_body = neutron_stub.route(method, path)
    assert got_status == status
    if body is not None:
        assert got_body == body


def test_neutron_stub_quota_is_unlimited():
    status, body = neutron_stub.route('GET', '/v2.0/quotas/some-project')
    assert status == 200 and set(body['quota'].values()) == {-1}


def test_stop_kills_what_it_started_and_nothing_else(tmp_path):
    manager = processes.ProcessManager(tmp_path, tmp_path / 'log', tmp_path / 'run')
    # A service that forks a child into its process group, like nova's workers.
    manager.launch('svc', [sys.executable, '-c',
                           'import subprocess, time; subprocess.Popen(["sleep", "60"]); '
                           'time.sleep(60)'])
    bystander = subprocess.Popen(['sleep', '60'])
    # A stale pid file naming a live process that is not ours (a recycled pid).
    (tmp_path / 'run/stale.pid').write_text(f'{bystander.pid} 1\n')
    try:
        pid = manager.running()['svc']
        assert set(manager.running()) == {'svc'}
        assert manager.stop(grace=3) == ['svc']
        assert not processes._alive(pid)
        assert bystander.poll() is None, 'a process we did not start was killed'
        assert not list((tmp_path / 'run').glob('*.pid'))
        assert 'starting' in processes.tail(manager.log_path('svc'))
    finally:
        bystander.kill()
        bystander.wait()


def test_stop_finds_strays_by_their_marker(tmp_path):
    owner = str(tmp_path)
    env = dict(os.environ, **{processes.OWNER_VAR: owner})
    stray = subprocess.Popen(['sleep', '60'], env=env, start_new_session=True)
    try:
        manager = processes.ProcessManager(tmp_path, tmp_path / 'log', tmp_path / 'run')
        assert manager.stop(grace=3) == [f'pid {stray.pid}']
        assert stray.wait(timeout=5) is not None
    finally:
        if stray.poll() is None:
            stray.kill()


def test_tail_of_missing_log(tmp_path):
    assert 'does not exist' in processes.tail(pathlib.Path(tmp_path) / 'nope.log')
