"""Scenario 5: python-blazarclient's ``blazar`` shell and ``openstack reservation …``
against Climate with real Keystone auth, finding the API through the catalog's
``reservation`` service (no endpoint override)."""

import json
import os
import subprocess
import sys
import uuid


def _run(creds, *args):
    command = [os.path.join(os.path.dirname(sys.executable), args[0]), *args[1:]]
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(creds.env(), OS_AUTH_TYPE='password')
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, f'{" ".join(args)}: {result.stderr}{result.stdout}'
    return result.stdout


def test_blazar_and_openstack_reservation(openstack, climate, enrolled):
    admin, alpha, beta = (openstack.operator, openstack.members['alpha'],
                          openstack.members['beta'])
    hosts = json.loads(_run(admin, 'blazar', 'host-list', '-f', 'json'))
    assert {h['hypervisor_hostname'] for h in hosts} == {'cmp1', 'cmp2'}
    shown = json.loads(_run(admin, 'openstack', 'reservation', 'host', 'show', 'cmp1',
                            '-f', 'json'))
    assert shown['gpu'] == 'yes'

    name = f'it-blazar-{uuid.uuid4().hex[:6]}'
    _run(alpha, 'blazar', 'lease-create', '--start-date', '2040-01-01 10:00',
         '--end-date', '2040-01-01 12:00', '--physical-reservation',
         'min=1,max=1,hypervisor_properties=,resource_properties=', name)
    lease = json.loads(_run(alpha, 'openstack', 'reservation', 'lease', 'show', name,
                            '-f', 'json'))
    assert lease['project_id'] == openstack.project_ids['alpha']
    assert lease['status'] == 'PENDING'
    mine = json.loads(_run(alpha, 'openstack', 'reservation', 'lease', 'list',
                           '-f', 'json'))
    assert name in [x['name'] for x in mine]
    theirs = json.loads(_run(beta, 'blazar', 'lease-list', '-f', 'json'))
    assert name not in [x['name'] for x in theirs]
    _run(alpha, 'blazar', 'lease-delete', name)
    assert name not in [x['name'] for x in json.loads(
        _run(alpha, 'blazar', 'lease-list', '-f', 'json'))]
