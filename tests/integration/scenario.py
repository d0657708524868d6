"""Helpers of the scenario tests: waiting, Climate's REST API as a user, Nova checks."""

import contextlib
import datetime
import time

from novaclient import exceptions as nova_exc
import pytest

FREEPOOL = 'freepool'


def wait(predicate, what, timeout=120, interval=0.5):
    """``predicate()`` once truthy; ``what`` is a string or a callable giving one."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f'timed out after {timeout} s waiting for '
                        f'{what() if callable(what) else what}')
        time.sleep(interval)


def in_seconds(seconds, since=None):
    """An RFC 3339 date (seconds resolution, UTC) ``seconds`` from now."""
    moment = (since or datetime.datetime.now(datetime.timezone.utc)) + \
        datetime.timedelta(seconds=seconds)
    return moment.replace(microsecond=0)


def rfc3339(moment):
    return moment.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


class Reservations:
    """Climate's v1 API through a keystoneauth session (real Keystone tokens)."""

    def __init__(self, session, url):
        self.session = session
        self.url = url.rstrip('/')

    def request(self, method, path, **kwargs):
        return self.session.request(f'{self.url}{path}', method, raise_exc=False,
                                    headers={'Accept': 'application/json'}, **kwargs)

    def ok(self, method, path, **kwargs):
        response = self.request(method, path, **kwargs)
        assert response.status_code < 400, \
            f'{method} {path}: {response.status_code} {response.text}'
        return response.json() if response.content else None

    def lease(self, lease_id):
        return self.ok('GET', f'/leases/{lease_id}')['lease']

    def create_lease(self, **body):
        body.setdefault('events', [])
        return self.ok('POST', '/leases', json=body)['lease']

    def wait_lease(self, lease_id, status, timeout=120):
        seen = []

        def reached():
            lease = self.lease(lease_id)
            if not seen or seen[-1] != lease['status']:
                seen.append(lease['status'])
            if lease['status'] == 'ERROR' and status != 'ERROR':
                pytest.fail(f'lease {lease_id} went to ERROR: {lease}')
            return lease if lease['status'] == status else None
        return wait(reached, lambda: f'lease {lease_id} to be {status} (seen {seen})',
                    timeout)


def server_settled(nova, server_id, status, timeout=120):
    def settled():
        server = nova.servers.get(server_id)
        if server.status == 'ERROR' and status != 'ERROR':
            pytest.fail(f'server {server_id} went to ERROR: {getattr(server, "fault", "")}')
        task = getattr(server, 'OS-EXT-STS:task_state', None)
        return server if server.status == status and task is None else None
    return wait(settled, f'server {server_id} to be {status}', timeout)


def server_gone(nova, server_id, timeout=120):
    def gone():
        try:
            nova.servers.get(server_id)
        except nova_exc.NotFound:
            return True
        return False
    wait(gone, f'server {server_id} to be deleted', timeout)


def host_of(server):
    return getattr(server, 'OS-EXT-SRV-ATTR:host')


def climate_cli(creds, *args, timeout=60, output=True):
    """Run the ``climate`` command as ``creds``; with ``output``, ``-f json`` and the
    decoded output."""
    import json
    import os
    import subprocess
    import sys
    command = [os.path.join(os.path.dirname(sys.executable), 'climate'), *args,
               *(('-f', 'json') if output else ())]
    env = {**os.environ, **creds.env()}
    result = subprocess.run(command, capture_output=True, text=True, env=env,
                            timeout=timeout)
    assert result.returncode == 0, f'{" ".join(args)}: {result.stderr}{result.stdout}'
    return json.loads(result.stdout) if output else result.stdout


def aggregate(nova, name):
    for found in nova.aggregates.list():
        if found.name == name:
            return found
    return None


def boot(nova, name, image_id, flavor_id, hints=None):
    return nova.servers.create(name, image_id, flavor_id, nics='none',
                               scheduler_hints=hints or {})


def server_placed(nova, server_id, timeout=120):
    """The server once ACTIVE or ERROR (no task in progress)."""
    def placed():
        server = nova.servers.get(server_id)
        task = getattr(server, 'OS-EXT-STS:task_state', None)
        return server if server.status in ('ACTIVE', 'ERROR') and task is None else None
    return wait(placed, f'server {server_id} to be ACTIVE or ERROR', timeout)


def trust(openstack, trust_id):
    """Keystone's record of a trust (read as the admin), or None once it is deleted."""
    response = openstack.admin_session.get(
        f'{openstack.auth_url}/OS-TRUST/trusts/{trust_id}', raise_exc=False)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.json()['trust']


def delete_server(nova, server_id):
    """Delete a server unless it is already gone."""
    try:
        nova.servers.delete(server_id)
    except nova_exc.NotFound:
        pass


@contextlib.contextmanager
def active_server(openstack, creds, name):
    """A server of ``creds``' project, booted and ACTIVE; deleted afterwards (by the
    admin, whatever the test left of it)."""
    nova = openstack.nova(creds)
    server = boot(nova, name, openstack.image_id, openstack.flavor_id)
    try:
        server_settled(nova, server.id, 'ACTIVE')
        yield server
    finally:
        delete_server(openstack.nova(), server.id)
