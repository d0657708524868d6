"""Manager processes for tests and benchmarks: a shared config, RPC to them, a journal.

``Managers`` writes one climate.conf (database, RabbitMQ, the dummy plugin with a
journal file), migrates the database, starts ``climate-manager`` processes on it and
gives an RPC client to them. A process may be given configuration of its own on top
(``start(count, own_config=...)``), say its own ``[database] connection`` to one node
of a cluster.
"""

import signal
import subprocess
import sys
import time
import uuid

from oslo_config import cfg

from climate import context as climate_context
from climate import rpc
import climate.conf  # noqa: F401  (registers [manager] on the global CONF)
from climate.db import migration
from climate.manager import rpcapi
from climate.plugins import dummy


def wait_for(predicate, timeout=15.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f'timed out after {timeout}s waiting for {predicate}')


class Managers:
    """Starts manager processes on a shared config and talks to them over RPC."""

    def __init__(self, database, rabbit_url, tmp_path, manager_options=None,
                 **dummy_options):
        self.tmp_path = tmp_path
        self.journal = str(tmp_path / 'journal.jsonl')
        self.topic = f'climate-test-{uuid.uuid4().hex[:8]}'
        options = '\n'.join(f'{k} = {v}' for k, v in dummy_options.items())
        # Dead managers are detected by liveness_timeout; claim_timeout is only the
        # backstop for claims a live manager lost track of. Any may be overridden.
        manager_options = dict({'claim_timeout': 30, 'max_poll_interval': 2},
                               **(manager_options or {}))
        manager_options = '\n'.join(f'{k} = {v}' for k, v in manager_options.items())
        self.config = tmp_path / 'climate.conf'
        self.config.write_text(f"""[DEFAULT]
transport_url = {rabbit_url}
[database]
connection = {database.url}
[manager]
rpc_topic = {self.topic}
plugins = dummy.plugin
{manager_options}
[dummy_plugin]
journal = {self.journal}
{options}
[oslo_messaging_notifications]
driver = noop
""")
        migration.upgrade('head', engine=database.engine)
        self.processes = []
        # oslo.messaging's RPC client reads its tracing options from the global CONF.
        self.conf = cfg.CONF
        self.conf.set_override('rpc_topic', self.topic, group='manager')
        self.transport = rpc.get_transport(self.conf, url=rabbit_url)  # cached
        self.api = rpcapi.ManagerAPI(self.conf, transport=self.transport, timeout=30)
        self.ctx = climate_context.RequestContext(user_id='u1', project_id='p1')

    def start(self, count, own_config=None):
        """Start ``count`` processes; ``own_config(index)``, if given, returns the text
        of a configuration file read after the shared one by the index-th of them."""
        for index in range(count):
            number = len(self.processes)
            files = ['--config-file', str(self.config)]
            if own_config is not None:
                extra = self.tmp_path / f'manager-{number}.conf'
                extra.write_text(own_config(index))
                files += ['--config-file', str(extra)]
            log = open(self.tmp_path / f'manager-{number}.log', 'w')
            process = subprocess.Popen(
                [sys.executable, '-m', 'climate.cmd.manager', *files],
                stdout=log, stderr=subprocess.STDOUT)
            process.log_path = log.name
            self.processes.append(process)
        for process in self.processes:
            wait_for(lambda: 'serving topic' in open(process.log_path).read(), timeout=60)

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.conf.clear_override('rpc_topic', group='manager')

    def journal_entries(self):
        return dummy.read_journal(self.journal)

    def statuses(self, lease_ids):
        wanted = set(lease_ids)
        return {lease['id']: lease['status'] for lease in self.api.list_leases(self.ctx)
                if lease['id'] in wanted}
