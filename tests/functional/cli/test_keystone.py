"""``climate`` with Keystone: password authentication through keystoneauth against the
test Keystone stand-in (``tests.functional.api.fake_keystone``), and
``climate-all-in-one`` validating the token with keystonemiddleware.

The stand-in's catalog lists only itself, so the reservation endpoint is given with
``--os-reservation-endpoint-override``; a missing endpoint is a one-line error.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.functional.api import all_in_one
from tests.functional.api import fake_keystone


@pytest.fixture(scope='module')
def keystone():
    server = fake_keystone.FakeKeystone()
    # The service user's token, as the CLI gets it, is valid for the API too.
    fake_keystone.TOKENS[fake_keystone.SERVICE_TOKEN] = fake_keystone._user_token(
        'climate', 'service', ['admin', 'member', 'reader'])
    yield server
    del fake_keystone.TOKENS[fake_keystone.SERVICE_TOKEN]
    server.stop()


@pytest.fixture(scope='module')
def server(tmp_path_factory, keystone):
    process = all_in_one.AllInOne(tmp_path_factory.mktemp('all-in-one-keystone'))
    config = process.config.read_text().replace('auth_strategy = noauth',
                                                'auth_strategy = keystone')
    process.config.write_text(config + keystone.authtoken_section())
    process.start()
    yield process
    process.stop()


def _climate(keystone, *args, password='secret', endpoint=None):
    env = {key: value for key, value in os.environ.items() if not key.startswith('OS_')}
    env.update(OS_AUTH_URL=f'{keystone.url}/v3', OS_USERNAME='climate',
               OS_PASSWORD=password, OS_PROJECT_NAME='service',
               OS_USER_DOMAIN_ID='default', OS_PROJECT_DOMAIN_ID='default')
    options = ['--os-reservation-endpoint-override', endpoint] if endpoint else []
    return subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'climate'), *options, *args],
        capture_output=True, text=True, env=env, timeout=120)


def test_password_authentication(keystone, server):
    result = _climate(keystone, 'lease', 'list', '-f', 'json', endpoint=server.url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert fake_keystone.SERVICE_TOKEN in keystone.validations


def test_wrong_password_is_one_line(keystone, server):
    result = _climate(keystone, 'lease', 'list', password='wrong', endpoint=server.url)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('Authentication failed:'), lines


def test_no_reservation_endpoint_in_the_catalog(keystone, server):
    result = _climate(keystone, 'lease', 'list')
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('No reservation endpoint:'), lines
