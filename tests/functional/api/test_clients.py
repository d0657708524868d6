"""The real clients against ``climate-all-in-one``: python-blazarclient's ``blazar``
shell and ``openstack reservation …`` (OS_AUTH_TYPE=none, OS_ENDPOINT=…/v1), asserting
on what they print.

Host commands and physical host reservations run on the real physical:host plugin
(``all_in_one.HOST_PLUGIN``) over the in-memory compute driver.
A lease of the dummy plugin cannot be made from the command line: blazarclient 4.6.0
fails with KeyError 'resource_type' on ``--reservation`` for resource types it does
not know, before sending anything.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.functional import client_shells
from tests.functional.api import all_in_one

START, END = '2030-01-01 10:00', '2030-01-02 10:00'
HOST_RESERVATION = 'min=1,max=1,hypervisor_properties=,resource_properties='


def _tool(name):
    path = os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(path):
        pytest.fail(f'{name} is not installed: it comes with test-requirements.txt')
    return path


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    process = all_in_one.AllInOne(tmp_path_factory.mktemp('all-in-one')).start()
    yield process
    process.stop()


def _environ(server):
    env = dict(os.environ, OS_AUTH_TYPE='none', OS_ENDPOINT=server.url)
    for key in ('OS_CLOUD', 'OS_AUTH_URL', 'OS_TOKEN', 'OS_USERNAME', 'OS_PASSWORD'):
        env.pop(key, None)
    return env


@pytest.fixture(scope='module')
def shells(server):
    runner = client_shells.ShellRunner(_environ(server))
    yield runner
    runner.close()


@pytest.fixture
def cli(server, shells):
    def run(tool, *args, expect=0):
        _tool(tool)
        returncode, stdout, stderr = shells.run(tool, *args)
        assert returncode == expect, (
            f'{tool} {" ".join(args)} exited {returncode}\n'
            f'stdout: {stdout}\nstderr: {stderr}\n'
            f'server log (end): {server.output()[-3000:]}')
        return stdout if expect == 0 else stdout + stderr
    return run


def test_console_scripts(server):
    """The installed executables themselves, each as a process of its own."""
    for tool, args in (('blazar', ['lease-list']),
                       ('openstack', ['reservation', 'lease', 'list', '-f', 'json'])):
        result = subprocess.run([_tool(tool), *args], capture_output=True, text=True,
                                env=_environ(server), timeout=120)
        assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def _json(text):
    """The JSON document a command printed (after any "Created a new …:" line)."""
    return json.loads(text[text.index('{') if text.lstrip()[0] != '[' else
                           text.index('['):])


def test_blazar_shell(cli):
    out = cli('blazar', 'host-create', 'compute-1', '--extra', 'gpu=True')
    assert out.startswith('Created a new host:')
    assert '| hypervisor_hostname | compute-1' in out
    assert '| gpu                 | True' in out

    out = cli('blazar', 'host-list')
    assert 'compute-1' in out and '| id |' in out

    host = _json(cli('blazar', 'host-show', 'compute-1', '-f', 'json'))
    assert host['id'] == '1' and host['gpu'] == 'True'

    assert cli('blazar', 'host-update', 'compute-1', '--extra',
               'gpu=False').strip() == 'Updated host: compute-1'
    assert _json(cli('blazar', 'host-show', '1', '-f', 'json'))['gpu'] == 'False'

    out = cli('blazar', 'lease-create', '--physical-reservation', HOST_RESERVATION,
              '--start-date', START, '--end-date', END, 'cli-lease')
    assert out.startswith('Created a new lease:')
    assert '| name          | cli-lease' in out
    assert '| status        | PENDING' in out
    assert '"resource_type": "physical:host"' in out

    out = cli('blazar', 'lease-list')
    assert 'cli-lease' in out and '2030-01-02T10:00:00.000000' in out

    lease = _json(cli('blazar', 'lease-show', 'cli-lease', '-f', 'json'))
    assert lease['start_date'] == '2030-01-01T10:00:00.000000'
    assert lease['end_date'] == '2030-01-02T10:00:00.000000'

    out = cli('blazar', 'allocation-list', 'host', '-f', 'json')
    allocations = _json(out)
    assert allocations[0]['resource_id'] == '1'
    assert allocations[0]['reservations'][0]['lease_id'] == lease['id']

    assert cli('blazar', 'lease-update', '--prolong-for', '1d',
               'cli-lease').strip() == 'Updated lease: cli-lease'
    lease = _json(cli('blazar', 'lease-show', lease['id'], '-f', 'json'))
    assert lease['end_date'] == '2030-01-03T10:00:00.000000'

    out = cli('blazar', 'host-delete', 'compute-1', expect=1)
    assert "ERROR: Can't delete host 1." in out

    assert cli('blazar', 'lease-delete', 'cli-lease').strip() == \
        'Deleted lease: cli-lease'
    assert 'cli-lease' not in cli('blazar', 'lease-list')

    assert cli('blazar', 'host-delete', 'compute-1').strip() == \
        'Deleted host: compute-1'
    assert 'compute-1' not in cli('blazar', 'host-list')


def test_blazar_shell_errors(cli):
    out = cli('blazar', 'lease-create', '--physical-reservation',
              'min=2,max=3,hypervisor_properties=,resource_properties=',
              '--start-date', START, '--end-date', END, 'too-big', expect=1)
    assert 'ERROR: Not enough hosts available' in out
    assert 'ERROR: Host 42 not found' in cli('blazar', 'host-show', '42', expect=1)
    out = cli('blazar', 'lease-create', '--start-date', '2020-01-01 10:00',
              '--end-date', END, 'in-the-past', expect=1)
    assert 'ERROR: Start date must be later than current date' in out


def test_openstack_reservation(cli):
    out = cli('openstack', 'reservation', 'host', 'create', 'compute-2', '--extra',
              'gpu=True', '-f', 'json')
    assert out.startswith('Created a new host:')
    assert _json(out)['hypervisor_hostname'] == 'compute-2'

    hosts = _json(cli('openstack', 'reservation', 'host', 'list', '-f', 'json'))
    assert [h['hypervisor_hostname'] for h in hosts] == ['compute-2']

    assert cli('openstack', 'reservation', 'host', 'set', 'compute-2', '--extra',
               'gpu=False').strip() == 'Updated host: compute-2'
    assert cli('openstack', 'reservation', 'host', 'show', 'compute-2', '-f', 'value',
               '-c', 'gpu').strip() == 'False'

    out = cli('openstack', 'reservation', 'lease', 'create', '--reservation',
              'resource_type=physical:host,' + HOST_RESERVATION, '--start-date', START,
              '--end-date', END, 'osc-lease', '-f', 'json')
    assert out.startswith('Created a new lease:')
    lease = _json(out)
    assert lease['name'] == 'osc-lease' and lease['status'] == 'PENDING'

    out = cli('openstack', 'reservation', 'lease', 'list', '-f', 'value')
    assert f'{lease["id"]} osc-lease 2030-01-01T10:00:00.000000 ' \
           '2030-01-02T10:00:00.000000' in out

    shown = _json(cli('openstack', 'reservation', 'lease', 'show', 'osc-lease',
                      '-f', 'json'))
    assert shown['id'] == lease['id']

    allocations = _json(cli('openstack', 'reservation', 'allocation', 'list', 'host',
                            '-f', 'json'))
    assert allocations[0]['reservations'][0]['lease_id'] == lease['id']

    assert cli('openstack', 'reservation', 'lease', 'set', '--prolong-for', '1d',
               'osc-lease').strip() == 'Updated lease: osc-lease'
    assert cli('openstack', 'reservation', 'lease', 'show', 'osc-lease', '-f',
               'value', '-c', 'end_date').strip() == '2030-01-03T10:00:00.000000'

    assert cli('openstack', 'reservation', 'lease', 'delete',
               'osc-lease').strip() == 'Deleted lease: osc-lease'
    assert cli('openstack', 'reservation', 'host', 'delete',
               'compute-2').strip() == 'Deleted host: compute-2'
    assert _json(cli('openstack', 'reservation', 'host', 'list', '-f', 'json')) == []
