"""The real ``climate`` command against ``climate-all-in-one`` (noauth, SQLite).

The server runs ``[manager] plugins = dummy.plugin, physical.host.plugin``: host
commands and physical reservations go to the real physical:host plugin over the
in-memory compute driver; ``--reservation`` leases use the dummy plugin's
``dummy:resource`` type.
"""

import datetime
import json
import os
import subprocess
import sys
import time

import pytest
import yaml

from tests.functional import client_shells
from tests.functional.api import all_in_one

START, END = '2030-01-01 10:00', '2030-01-02 10:00'


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    process = all_in_one.AllInOne(tmp_path_factory.mktemp('all-in-one')).start()
    yield process
    process.stop()


@pytest.fixture(scope='module')
def shell():
    env = {key: value for key, value in os.environ.items() if not key.startswith('OS_')}
    runner = client_shells.ShellRunner(env)
    yield runner
    runner.close()


@pytest.fixture
def climate(server, shell):
    """Runs ``climate ARGS`` with --os-auth-type none --os-endpoint; checks the exit.

    In one long-lived process (``client_shells``); the ``host`` fixture and
    ``test_clouds_yaml`` run the installed ``climate`` executable itself."""
    def run(*args, expect=0, auth=True):
        options = ['--os-auth-type', 'none', '--os-endpoint', server.url] if auth else []
        returncode, stdout, stderr = shell.run('climate', *options, *args)
        result = subprocess.CompletedProcess(['climate', *options, *args], returncode,
                                             stdout, stderr)
        assert expect is None or result.returncode == expect, (
            f'climate {" ".join(args)} exited {result.returncode}\n'
            f'stdout: {result.stdout}\nstderr: {result.stderr}')
        return result
    return run


def _out(result, fmt):
    return {'json': json.loads, 'yaml': yaml.safe_load}[fmt](result.stdout)


def _error_line(result):
    """A failing command prints exactly one line, on stderr, and nothing on stdout."""
    assert result.stdout == ''
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope='module')
def host(server):
    """One enrolled host, through the CLI itself."""
    env = {key: value for key, value in os.environ.items() if not key.startswith('OS_')}
    env.update(OS_AUTH_TYPE='none', OS_ENDPOINT=server.url)
    out = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'climate'), 'host', 'create',
         'compute-1', '--extra', 'gpu=true', '-f', 'json'],
        capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out)


# --- hosts ---------------------------------------------------------------------------

def test_host_create_shows_the_host_with_its_extra_capabilities(host):
    assert host['hypervisor_hostname'] == 'compute-1'
    assert host['gpu'] == 'true'
    assert host['id'].isdigit()


def test_host_list_in_each_format(climate, host):
    assert [h['hypervisor_hostname'] for h in _out(climate('host', 'list', '-f', 'json'),
                                                    'json')] == ['compute-1']
    rows = _out(climate('host', 'list', '-f', 'yaml'), 'yaml')
    assert rows[0]['id'] == host['id'] and rows[0]['vcpus'] == 8
    table = climate('host', 'list').stdout
    assert ('| id | hypervisor_hostname | vcpus | memory_mb | local_gb | reservable | '
            'status | status_reason |') in table
    assert 'compute-1' in table
    value = climate('host', 'list', '-f', 'value', '-c', 'hypervisor_hostname').stdout
    assert value == 'compute-1\n'


def test_host_show_by_name_and_by_id(climate, host):
    by_name = _out(climate('host', 'show', 'compute-1', '-f', 'json'), 'json')
    by_id = _out(climate('host', 'show', host['id'], '-f', 'yaml'), 'yaml')
    assert by_name['id'] == by_id['id'] == host['id']
    out = climate('host', 'show', 'compute-1', '-f', 'value', '-c', 'gpu').stdout
    assert out == 'true\n'


def test_host_set_extra_capability(climate, host):
    shown = _out(climate('host', 'set', 'compute-1', '--extra', 'rack=r12', '-f', 'json'),
                 'json')
    assert shown['rack'] == 'r12' and shown['gpu'] == 'true'


def test_host_errors_are_one_line(climate, host):
    result = climate('host', 'show', 'compute-9', expect=1)
    assert _error_line(result) == "No host with name or id 'compute-9' (HTTP 404)"
    result = climate('host', 'show', '999', expect=1)
    line = _error_line(result)
    assert line.endswith('(HTTP 404)') and '999' in line
    assert _error_line(climate('host', 'set', 'compute-1', expect=1)) == (
        'Nothing to set: give --extra KEY=VALUE')


def test_host_create_and_delete(climate):
    climate('host', 'create', 'compute-2')
    result = climate('host', 'delete', 'compute-2')
    assert result.stdout.startswith('Deleted host compute-2 (')
    assert 'compute-2' not in climate('host', 'list', '-f', 'value').stdout


def test_host_reallocate_and_maintenance(climate, host):
    climate('host', 'create', 'compute-3')
    try:
        climate('lease', 'create', 'movable', '--start-date', '2031-01-01 10:00',
                '--end-date', '2031-01-01 12:00', '--physical-reservation',
                'min=1,max=1')
        first = _out(climate('allocation', 'list', '--lease', 'movable', '-f', 'json'),
                     'json')
        held = [a['resource_id'] for a in first if a['reservations']]
        other = 'compute-3' if held == [host['id']] else 'compute-1'
        moved = _out(climate('host', 'reallocate', held[0], '--lease', 'movable',
                             '-f', 'json'), 'json')
        assert moved['resource_id'] == held[0] and moved['reservations'] == []
        # A window on the other host moves the lease back to the first one.
        back = _out(climate('host', 'maintenance', 'create', other, '--start-date',
                            '2031-01-01 11:00', '--end-date', '2031-01-01 11:30',
                            '-f', 'json'), 'json')
        assert [m['new_host'] for m in back['moved']] == [held[0]]
        # Then a window on the first one finds no host to move it to.
        refused = climate('host', 'maintenance', 'create', held[0], '--start-date',
                          '2031-01-01 10:30', '--end-date', '2031-01-01 11:30',
                          expect=1)
        line = _error_line(refused)
        assert 'cannot move' in line and line.endswith('(HTTP 409)')
        window = _out(climate('host', 'maintenance', 'create', held[0],
                              '--start-date', '2031-01-01 10:30', '--end-date',
                              '2031-01-01 11:30', '--reason', 'bios', '--force',
                              '-f', 'json'), 'json')
        assert window['reason'] == 'bios' and window['degraded']
        listed = _out(climate('host', 'maintenance', 'list', held[0], '-f', 'json'),
                      'json')
        assert [w['id'] for w in listed] == [window['id']]
        result = climate('host', 'maintenance', 'delete', held[0], window['id'])
        assert result.stdout == f"Deleted maintenance {window['id']}\n"
    finally:
        climate('lease', 'delete', 'movable', expect=None)
        climate('host', 'delete', 'compute-3', expect=None)


# --- properties ----------------------------------------------------------------------

def test_property_list_and_set(climate, host):
    names = _out(climate('property', 'list', '-f', 'json'), 'json')
    assert {'property': 'gpu'} in names
    detail = _out(climate('property', 'list', '--detail', '-f', 'json'), 'json')
    gpu = next(item for item in detail if item['property'] == 'gpu')
    assert gpu['values'] == ['true']
    shown = _out(climate('property', 'set', 'gpu', '--private', '-f', 'json'), 'json')
    assert shown['private'] is True
    shown = _out(climate('property', 'set', 'gpu', '--public', '-f', 'yaml'), 'yaml')
    assert shown['private'] is False


# --- leases --------------------------------------------------------------------------

@pytest.fixture
def host_lease(climate, host, request):
    name = f'hosts-{request.node.name[-20:]}'
    lease = _out(climate(
        'lease', 'create', name, '--start-date', START, '--end-date', END,
        '--physical-reservation',
        'min=1,max=1,hypervisor_properties=[">=", "$vcpus", "2"],resource_properties=',
        '-f', 'json'), 'json')
    yield lease
    climate('lease', 'delete', lease['id'], expect=None)  # unless the test deleted it


def test_lease_create_physical_reservation(host_lease, climate):
    assert host_lease['start_date'].startswith('2030-01-01T10:00')
    assert host_lease['end_date'].startswith('2030-01-02T10:00')
    (reservation,) = host_lease['reservations']
    assert reservation['resource_type'] == 'physical:host'
    assert (reservation['min'], reservation['max']) == (1, 1)
    assert reservation['hypervisor_properties'] == '[">=", "$vcpus", "2"]'
    allocations = _out(climate('allocation', 'list', '--lease', host_lease['name'],
                               '-f', 'json'), 'json')
    assert [a['resource_id'] for a in allocations] == ['1']
    assert allocations[0]['reservations'][0]['lease_id'] == host_lease['id']
    table = climate('allocation', 'list').stdout
    assert '| resource_id | reservations' in table and host_lease['id'] in table
    climate('lease', 'delete', host_lease['id'])


def test_lease_list_show_in_each_format(host_lease, climate):
    name = host_lease['name']
    listed = _out(climate('lease', 'list', '-f', 'json'), 'json')
    assert {'id': host_lease['id'], 'name': name, 'start_date': host_lease['start_date'],
            'end_date': host_lease['end_date'], 'status': 'PENDING'} in listed
    assert name in climate('lease', 'list').stdout
    assert f"{host_lease['id']} {name} " in climate('lease', 'list', '-f', 'value').stdout
    shown = _out(climate('lease', 'show', name, '-f', 'yaml'), 'yaml')
    assert shown['id'] == host_lease['id']
    assert shown['reservations'][0]['resource_type'] == 'physical:host'
    table = climate('lease', 'show', host_lease['id']).stdout
    assert '| reservations' in table and '"resource_type": "physical:host"' in table
    assert climate('lease', 'show', name, '-f', 'value', '-c', 'status').stdout == (
        'PENDING\n')
    # nested values are JSON text in value output, for scripts
    value = climate('lease', 'show', name, '-f', 'value', '-c', 'reservations').stdout
    assert json.loads(value)[0]['resource_type'] == 'physical:host'
    by_name = _out(climate('lease', 'list', '--name', name, '-f', 'json'), 'json')
    assert [lease['id'] for lease in by_name] == [host_lease['id']]
    assert _out(climate('lease', 'list', '--status', 'PENDING', '--name', name,
                        '-f', 'json'), 'json') == by_name
    assert _out(climate('lease', 'list', '--status', 'ACTIVE', '--name', name,
                        '-f', 'json'), 'json') == []
    assert len(_out(climate('lease', 'list', '--limit', '1', '-f', 'json'),
                    'json')) == 1
    climate('lease', 'delete', name)


@pytest.mark.parametrize('option, value, field, expected', [
    ('--prolong-for', '1d', 'end_date', '2030-01-03T10:00'),
    ('--reduce-by', '2h', 'end_date', '2030-01-02T08:00'),
    ('--defer-by', '30m', 'start_date', '2030-01-01T10:30'),
    ('--advance-by', '1h', 'start_date', '2030-01-01T09:00'),
    ('--end-date', '2030-01-05T12:00:00+02:00', 'end_date', '2030-01-05T10:00'),
])
def test_lease_set_moves_the_window(host_lease, climate, option, value, field, expected):
    shown = _out(climate('lease', 'set', host_lease['name'], option, value, '-f', 'json'),
                 'json')
    assert shown[field].startswith(expected)
    climate('lease', 'delete', host_lease['id'])


def test_lease_set_rename(host_lease, climate):
    out = climate('lease', 'set', host_lease['id'], '--name', 'renamed-lease', '-f',
                  'value', '-c', 'name').stdout
    assert out == 'renamed-lease\n'
    assert climate('lease', 'delete', 'renamed-lease').stdout == (
        f"Deleted lease renamed-lease ({host_lease['id']})\n")


def test_lease_generic_reservation_starting_now(climate):
    end = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1))
    lease = _out(climate('lease', 'create', 'generic', '--end-date',
                         end.strftime('%Y-%m-%d %H:%M'),
                         '--reservation', 'resource_type=dummy:resource,size=3',
                         '-f', 'json'), 'json')
    assert lease['reservations'][0]['resource_type'] == 'dummy:resource'
    # It starts at once (a delete while it is STARTING would be a 409 "try again").
    deadline = time.monotonic() + 15
    while climate('lease', 'show', 'generic', '-f', 'value', '-c',
                  'status').stdout != 'ACTIVE\n':
        assert time.monotonic() < deadline, 'the lease did not start'
        time.sleep(0.1)
    climate('lease', 'delete', 'generic')
    result = climate('lease', 'show', 'generic', expect=1)
    assert _error_line(result) == "No lease with name or id 'generic' (HTTP 404)"


def test_lease_errors_are_one_line(climate, host):
    result = climate('lease', 'create', 'bad', '--start-date', END, '--end-date', START,
                     '--physical-reservation', 'min=1,max=1', expect=1)
    assert _error_line(result) == 'End date must be later than start date. (HTTP 400)'
    result = climate('lease', 'create', 'big', '--start-date', START, '--end-date', END,
                     '--physical-reservation', 'min=5,max=5', expect=1)
    # Blazar's message, then which request could not be met.
    line = _error_line(result)
    assert line.startswith('Not enough hosts available: 5 wanted') and \
        line.endswith('(HTTP 409)')
    result = climate('lease', 'create', 'bad', '--end-date', 'tomorrow',
                     '--physical-reservation', 'min=1,max=1', expect=1)
    assert _error_line(result).startswith("Invalid date 'tomorrow'")
    result = climate('lease', 'create', 'bad', '--end-date', END, expect=1)
    assert _error_line(result) == (
        'A lease needs at least one --physical-reservation or --reservation')
    result = climate('lease', 'set', 'missing', '--prolong-for', '1d', expect=1)
    assert _error_line(result) == "No lease with name or id 'missing' (HTTP 404)"
    result = climate('lease', 'delete', '00000000-0000-0000-0000-000000000000', expect=1)
    assert _error_line(result).endswith('(HTTP 404)')


def test_lease_set_bad_duration(host_lease, climate):
    result = climate('lease', 'set', host_lease['id'], '--prolong-for', '2w', expect=1)
    assert _error_line(result).startswith("Invalid duration '2w'")
    climate('lease', 'delete', host_lease['id'])


# --- authentication options ----------------------------------------------------------

def test_clouds_yaml(climate, server, tmp_path):
    (tmp_path / 'clouds.yaml').write_text(
        'clouds:\n  standalone:\n    auth_type: none\n'
        f'    auth:\n      endpoint: {server.url}\n')
    env = {key: value for key, value in os.environ.items() if not key.startswith('OS_')}
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'climate'), '--os-cloud',
         'standalone', 'lease', 'list', '-f', 'json'],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert isinstance(json.loads(result.stdout), list)


def test_no_endpoint_is_one_line_error(climate):
    result = climate('lease', 'list', expect=1, auth=False)
    assert _error_line(result)


def test_server_commands_are_listed(climate):
    out = climate('help').stdout
    assert 'server-reserve' in out and 'server-create' in out


# --- availability --------------------------------------------------------------------

def test_availability_find_busy_and_earliest_create(host_lease, climate):
    """The host is held from 2030-01-01 10:00 to 2030-01-02 10:00."""
    search = ('--duration', '4h', '--start-after', '2030-01-01 08:00',
              '--end-before', '2030-01-03 00:00')
    windows = _out(climate('availability', 'find', *search, '-f', 'json'), 'json')
    assert windows[0]['start_date'].startswith('2030-01-02T10:00')
    assert windows[0]['end_date'].startswith('2030-01-02T14:00')
    assert windows[0]['free'] == 1
    table = climate('availability', 'find', *search, '--limit', '1').stdout
    assert '| start_date' in table and '2030-01-02T10:00' in table
    busy = _out(climate('availability', 'busy', '--start', '2030-01-01 00:00',
                        '--end', '2030-01-03 00:00', '-f', 'json'), 'json')
    assert [(row['start_date'][:16], row['lease_id']) for row in busy] == [
        ('2030-01-01T10:00', host_lease['id'])]
    early = _out(climate(
        'lease', 'create', 'early', '--earliest', '4h', '--start-date', '2030-01-01 08:00',
        '--end-date', '2030-01-03 00:00', '--physical-reservation', 'min=1,max=1',
        '-f', 'json'), 'json')
    try:
        assert early['start_date'].startswith('2030-01-02T10:00')
        assert early['end_date'].startswith('2030-01-02T14:00')
    finally:
        climate('lease', 'delete', early['id'])


def test_availability_errors_are_one_line(climate, host):
    line = _error_line(climate('availability', 'find', '--duration', 'soon', expect=1))
    assert 'Invalid duration' in line
    line = _error_line(climate('lease', 'create', 'x', '--physical-reservation',
                               'min=1,max=1', expect=1))
    assert '--end-date is required' in line
