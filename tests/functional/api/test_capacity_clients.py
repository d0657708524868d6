"""Capacity reservations from the real clients against ``climate-all-in-one`` (the
quickstart's wiring: SQLite, in-memory compute): python-blazarclient's ``blazar``
shell, ``openstack reservation …`` and ``climate``, with Blazar's capacity-mode
``--reservation resource_type=virtual:instance,vcpus=…`` unchanged."""

import json
import os
import subprocess
import sys

import pytest

from tests.functional.api import all_in_one

START, END = '2030-01-01 10:00', '2030-01-02 10:00'
CAPACITY = ('resource_type=virtual:instance,vcpus=1,memory_mb=512,disk_gb=10,'
            'amount=2,affinity=False,resource_properties=')


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    process = all_in_one.AllInOne(
        tmp_path_factory.mktemp('all-in-one'),
        plugins=('physical.host.plugin', 'virtual.instance.plugin',
                 'flavor.instance.plugin')).start()
    yield process
    process.stop()


@pytest.fixture(scope='module')
def run(server):
    env = dict(os.environ, OS_AUTH_TYPE='none', OS_ENDPOINT=server.url,
               # The simulated Nova that climate-all-in-one serves beside the API.
               OS_COMPUTE_ENDPOINT_OVERRIDE=server.url.replace('/v1', '/compute/v2.1'))
    for key in ('OS_CLOUD', 'OS_AUTH_URL', 'OS_TOKEN', 'OS_USERNAME', 'OS_PASSWORD'):
        env.pop(key, None)

    def call(tool, *args, expect=0):
        result = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), tool), *args],
            capture_output=True, text=True, env=env, timeout=120)
        if expect is None:
            return result
        assert result.returncode == expect, (
            f'{tool} {" ".join(args)} exited {result.returncode}\n'
            f'stdout: {result.stdout}\nstderr: {result.stderr}\n'
            f'server log (end): {server.output()[-3000:]}')
        return result.stdout
    call('climate', 'host', 'create', 'compute-1')
    call('climate', 'host', 'create', 'compute-2')
    return call


def _json(text):
    return json.loads(text[text.index('{'):])


def _reservation(lease):
    reservations = lease['reservations']
    if isinstance(reservations, str):
        reservations = json.loads(reservations)
    if isinstance(reservations, dict):      # blazarclient prints one as an object
        reservations = [reservations]
    (reservation,) = reservations
    return reservation


def test_blazar_lease_create_in_capacity_mode(run):
    out = run('blazar', 'lease-create', '--reservation', CAPACITY, '--start-date',
              START, '--end-date', END, 'blazar-capacity')
    assert out.startswith('Created a new lease:')
    lease = _json(run('blazar', 'lease-show', 'blazar-capacity', '-f', 'json'))
    reservation = _reservation(lease)
    assert reservation['flavor_id'] == reservation['id']
    assert (reservation['amount'], reservation['affinity']) == (2, False)
    assert reservation['server_group_id']


def test_openstack_reservation_lease_create_in_capacity_mode(run):
    lease = _json(run('openstack', 'reservation', 'lease', 'create', '--reservation',
                      CAPACITY.replace('affinity=False', 'affinity=None'),
                      '--start-date', START, '--end-date', END, 'osc-capacity',
                      '-f', 'json'))
    reservation = _reservation(lease)
    assert reservation['flavor_id'] == reservation['id']
    assert reservation['affinity'] is None and reservation['server_group_id'] is None


def test_climate_lease_show_says_which_flavor_to_boot_with(run):
    lease = _json(run('climate', 'lease', 'create', 'climate-capacity',
                      '--start-date', START, '--end-date', END,
                      '--reservation', CAPACITY, '-f', 'json'))
    reservation = _reservation(lease)
    expected = (f'--flavor {reservation["id"]} '
                f'--hint group={reservation["server_group_id"]}')
    assert lease['boot_with'] == expected
    shown = _json(run('climate', 'lease', 'show', 'climate-capacity', '-f', 'json'))
    assert shown['boot_with'] == expected


def test_quickstart_boots_simulated_servers_into_a_capacity_lease(run):
    """The quickstart's wiring: ``climate server-boot`` on the simulated Nova of
    climate-all-in-one, with the reservation's flavor: two boots of amount=2 are
    ACTIVE, a third gets no valid host; ``server-create`` boots and reserves."""
    lease = _json(run('climate', 'lease', 'create', 'boot-here', '--start-date', 'now',
                      '--end-date', END, '--reservation',
                      CAPACITY.replace('affinity=False', 'affinity=None'), '-f', 'json'))
    flavor = _reservation(lease)['flavor_id']
    for _ in range(100):
        if _json(run('climate', 'lease', 'show', lease['id'], '-f', 'json'))[
                'status'] == 'ACTIVE':
            break
    booted = [_json(run('climate', 'server-boot', f'vm-{i}', '--flavor', flavor,
                        '--image', 'cirros', '-f', 'json')) for i in range(2)]
    assert [server['status'] for server in booted] == ['ACTIVE', 'ACTIVE']
    third = run('climate', 'server-boot', 'vm-2', '--flavor', flavor, '--image',
                'cirros', expect=None)
    assert third.returncode != 0
    assert 'No valid host was found' in third.stderr
    reserved = _json(run('climate', 'server-create', 'kept', '--flavor', 'm1.tiny',
                         '--image', 'cirros', '--start', START, '--end', END,
                         '-f', 'json'))
    assert reserved['server_id'] and reserved['status'] == 'PENDING'
