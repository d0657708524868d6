"""``climate-all-in-one`` as a subprocess on a free port, for the client tests.

Its configuration is the quickstart's (SQLite, in-memory compute driver, noauth) with
``[manager] plugins = dummy.plugin, physical.host.plugin``: host commands run on the
real physical:host plugin over the memory driver's simulated hypervisors.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request

from tests.functional.api import plugin_dist

HOST_PLUGIN = 'physical.host.plugin'


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class AllInOne:

    MEMORY_COMPUTE = ('[compute]\ndriver = memory\n[compute_memory]\n'
                      'hypervisors = compute-1:id=1, compute-2:id=2, compute-3:id=3\n')

    def __init__(self, tmp_path, plugins=('dummy.plugin', HOST_PLUGIN),
                 compute_config=MEMORY_COMPUTE, extra_config=''):
        self.tmp_path = tmp_path
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}/v1'
        self.config = tmp_path / 'climate.conf'
        self.config.write_text(f"""[DEFAULT]
state_path = {tmp_path}
auth_strategy = noauth
port = {self.port}
[database]
connection = sqlite:///{tmp_path}/climate.sqlite
{compute_config}[manager]
plugins = {', '.join(plugins)}
max_poll_interval = 2
[oslo_messaging_notifications]
driver = noop
{extra_config}""")
        self.env = plugin_dist.environ(tmp_path / 'entry-points')
        self.process = None

    def start(self, timeout=60):
        bindir = os.path.dirname(sys.executable)
        subprocess.run([os.path.join(bindir, 'climate-db-manage'), '--config-file',
                        str(self.config), 'upgrade', 'head'],
                       check=True, capture_output=True, env=self.env)
        self.log = open(self.tmp_path / 'all-in-one.log', 'w')
        self.process = subprocess.Popen(
            [os.path.join(bindir, 'climate-all-in-one'), '--config-file',
             str(self.config)], stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f'climate-all-in-one exited: {self.output()}')
            try:
                urllib.request.urlopen(self.url.rsplit('/v1', 1)[0] + '/', timeout=1)
            except urllib.error.HTTPError as exc:
                if exc.code == 300:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f'climate-all-in-one did not answer: {self.output()}')

    def output(self):
        return (self.tmp_path / 'all-in-one.log').read_text()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process:
            self.log.close()


@contextlib.contextmanager
def on_fake_nova(tmp_path, fake_nova, plugins):
    """``climate-all-in-one`` with ``plugins`` whose Nova driver talks to ``fake_nova``
    (``tests.fakes.nova_api``), given one hypervisor, ``compute-1``."""
    fake_nova.add_hypervisor('compute-1')
    process = AllInOne(tmp_path, plugins=plugins,
                       compute_config='[compute]\ndriver = nova\n' + fake_nova.config_text())
    process.start()
    try:
        yield process
    finally:
        process.stop()
