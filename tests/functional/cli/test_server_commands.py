"""``climate server-reserve`` end to end: the real command, ``climate-all-in-one`` with
the virtual:instance plugin, and Nova played by the HTTP double (``tests/fakes``; the
real-Nova run is in the integration tier)."""

import datetime
import json
import os
import subprocess
import sys

import pytest

from climate.common import timeutils
from tests.functional.api import all_in_one
from tests.manager_processes import wait_for

# noauth requests without identity headers act as an admin of this project.
PROJECT = 'noauth-project'


@pytest.fixture
def server(tmp_path, fake_nova):
    with all_in_one.on_fake_nova(tmp_path, fake_nova, ('virtual.instance.plugin',)) as process:
        yield process


def climate(server, *args, expect=0):
    env = {key: value for key, value in os.environ.items() if not key.startswith('OS_')}
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'climate'), '--os-auth-type',
         'none', '--os-endpoint', server.url, *args],
        capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == expect, result.stderr
    return result


def _later(hours):
    return (timeutils.utcnow() + datetime.timedelta(hours=hours)).strftime(
        '%Y-%m-%d %H:%M')


def test_server_reserve_shelves_until_start_and_delete_gives_it_back(server, fake_nova,
                                                                    nova_driver):
    server_id = fake_nova.add_server('vm1', 'compute-1', project_id=PROJECT)
    lease = json.loads(climate(server, 'server-reserve', server_id, '--start',
                               _later(2), '--end', _later(3), '-f', 'json').stdout)
    assert lease['status'] == 'PENDING'
    reservation = lease['reservations'][0]
    assert reservation['resource_type'] == 'virtual:instance'
    assert reservation['resource_id'] == server_id

    # What the owner sees in Nova (`openstack server show`): shelved, and why.
    def shelved():
        shown = nova_driver.get_server(server_id)
        return shown.status == 'SHELVED_OFFLOADED' and shown
    shown = wait_for(shelved, timeout=30)
    assert shown.metadata['climate:status'] == 'RESERVED'
    assert shown.metadata['climate:lease_id'] == lease['id']

    climate(server, 'lease', 'delete', lease['id'])
    wait_for(lambda: nova_driver.get_server(server_id).status == 'ACTIVE', timeout=30)
    assert 'climate:status' not in nova_driver.get_server(server_id).metadata


def test_unknown_server_is_refused_in_one_line(server):
    result = climate(server, 'server-reserve', '6a5b0d8e-0000-4000-8000-000000000000',
                     '--start', _later(2), '--end', _later(3), expect=1)
    lines = result.stderr.strip().splitlines()
    assert lines == ['resource_id: no server 6a5b0d8e-0000-4000-8000-000000000000 in '
                     'project noauth-project (HTTP 400)']
    assert result.stdout == ''


def test_server_create_boots_through_nova_then_reserves(server, fake_nova, nova_driver):
    """With Keystone auth (the double's own), Nova from the catalog, and the
    reservation endpoint given explicitly, as an operator without a catalog entry
    for Climate would."""
    env = {key: value for key, value in os.environ.items() if not key.startswith('OS_')}
    env.update(OS_AUTH_TYPE='password', OS_AUTH_URL=fake_nova.identity_url,
               OS_USERNAME=fake_nova.username, OS_PASSWORD=fake_nova.password,
               OS_PROJECT_NAME=fake_nova.project_name, OS_USER_DOMAIN_NAME='Default',
               OS_PROJECT_DOMAIN_NAME='Default', OS_REGION_NAME=fake_nova.region,
               OS_RESERVATION_ENDPOINT_OVERRIDE=server.url)
    image_id = fake_nova.add_image('cirros')
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'climate'), 'server-create', 'vm2',
         '--flavor', 'f1', '--image', image_id, '--start', _later(2), '--end', _later(3),
         '--on-end', 'delete', '-f', 'json'],
        capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    server_id = shown['server_id']
    assert shown['status'] == 'PENDING'
    assert shown['reservations'][0]['resource_id'] == server_id
    # Booted by Nova, then shelved until the lease starts.
    booted = wait_for(lambda: nova_driver.get_server(server_id).status ==
                      'SHELVED_OFFLOADED' and nova_driver.get_server(server_id),
                      timeout=30)
    assert booted.name == 'vm2'
    assert booted.metadata['climate:lease_id'] == shown['id']
