"""Climate itself for the integration tier: ``climate-api`` + ``climate-manager``.

Both run as subprocesses on one climate.conf: a MariaDB database of their own, the
openstack-lite RabbitMQ (a topic of their own), keystonemiddleware validating real
Keystone tokens for the ``climate`` service user, and the Nova compute driver acting
with that user's credentials. The API listens where the Keystone catalog's
``reservation`` endpoint points (``openstack.reservation_url``).
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from tests import backends

DEFAULT_PLUGINS = ('virtual.instance.plugin',)
HOST_PLUGIN = 'physical.host.plugin'


FLAVOR_PLUGIN = 'flavor.instance.plugin'


def available_plugins():
    """The instance plugin, and the host and flavor plugins once this checkout has
    them."""
    from importlib import metadata
    names = {ep.name for ep in metadata.entry_points(group='climate.resource.plugins')}
    return DEFAULT_PLUGINS + tuple(name for name in (HOST_PLUGIN, FLAVOR_PLUGIN)
                                   if name in names)


class ClimateService:

    def __init__(self, openstack, tmp_path, plugins=DEFAULT_PLUGINS, extra=''):
        self.openstack = openstack
        self.plugins = tuple(plugins)
        self.tmp_path = tmp_path
        split = urllib.parse.urlsplit(openstack.reservation_url)
        self.host, self.port = split.hostname, split.port
        self.url = openstack.reservation_url.rstrip('/')
        self.database = backends.ProvisionedDatabase('mysql', str(tmp_path))
        creds = openstack.climate
        auth = '\n'.join(f'{k} = {v}' for k, v in creds.as_dict().items())
        self.topic = f'climate-it-{uuid.uuid4().hex[:8]}'
        self.config = tmp_path / 'climate.conf'
        self.config.write_text(f"""[DEFAULT]
transport_url = {openstack.transport_url}
auth_strategy = keystone
host = {self.host}
port = {self.port}
state_path = {tmp_path}
[database]
connection = {self.database.url}
[manager]
rpc_topic = {self.topic}
plugins = {', '.join(plugins)}
max_poll_interval = 2
event_retry_interval = 2
claim_timeout = 10
[compute]
driver = nova
poll_interval = 0.5
wait_timeout = 120
[nova]
auth_type = password
region_name = {openstack.region}
{auth}
[keystone_authtoken]
auth_type = password
www_authenticate_uri = {openstack.auth_url}
region_name = {openstack.region}
{auth}
[oslo_messaging_notifications]
driver = noop
[virtual:instance]
shelve_lead_time = 5
snapshot_timeout = 180
unshelve_timeout = 180
{extra}
""")
        self.processes = {}

    def _bin(self, name):
        return os.path.join(os.path.dirname(sys.executable), name)

    def upgrade_check(self):
        """``{check name: (result code, details)}`` of ``climate-status upgrade check``
        on this service's configuration."""
        result = subprocess.run(
            [self._bin('climate-status'), '--config-file', str(self.config), 'upgrade',
             'check', '--json'], capture_output=True, text=True, timeout=120)
        return {c['check']: (c['result'], c['details'])
                for c in json.loads(result.stdout)['checks']}

    def start(self, timeout=90):
        subprocess.run([self._bin('climate-db-manage'), '--config-file', str(self.config),
                        'upgrade', 'head'], check=True, capture_output=True)
        for name in ('climate-manager', 'climate-api'):
            self._launch(name)
        deadline = time.monotonic() + timeout
        ready = {'climate-manager': False, 'climate-api': False}
        while not all(ready.values()):
            if time.monotonic() > deadline:
                raise RuntimeError(f'Climate did not start: {self.tails()}')
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f'{name} exited: {self.tails()}')
            ready['climate-manager'] = 'serving topic' in self.log('climate-manager')
            ready['climate-api'] = self._api_answers()
            time.sleep(0.2)
        return self

    def _launch(self, name):
        log = open(self.tmp_path / f'{name}.log', 'a')
        self.processes[name] = subprocess.Popen(
            [self._bin(name), '--config-file', str(self.config)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill_manager(self):
        """SIGKILL climate-manager (no chance to release its claims)."""
        process = self.processes['climate-manager']
        process.kill()
        process.wait()

    def restart_manager(self, timeout=60):
        served = self.log('climate-manager').count('serving topic')
        self._launch('climate-manager')
        deadline = time.monotonic() + timeout
        while self.log('climate-manager').count('serving topic') <= served:
            if time.monotonic() > deadline or \
                    self.processes['climate-manager'].poll() is not None:
                raise RuntimeError(f'climate-manager did not restart: {self.tails()}')
            time.sleep(0.2)

    def _api_answers(self):
        try:
            urllib.request.urlopen(f'http://{self.host}:{self.port}/', timeout=1)
        except urllib.error.HTTPError:
            return True        # 300 (versions) or 401: it is up
        except OSError:
            return False
        return True

    def log(self, name):
        try:
            return (self.tmp_path / f'{name}.log').read_text()
        except FileNotFoundError:
            return ''

    def tails(self, lines=40):
        return '\n'.join(f'--- {name} ---\n' + '\n'.join(self.log(name).splitlines()[-lines:])
                         for name in self.processes)

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.database.drop()
