"""Bring the whole environment up (install, bootstrap, start, provision) and down.

``Environment(settings).start()`` returns an ``OpenStackLite`` handle once both
hypervisors are up with their capacities in Nova and Placement; it raises
``Unavailable`` when a prerequisite (MariaDB, RabbitMQ, PyPI) is missing and
``StartupFailed`` (with the tails of the relevant logs) when a service does not come
up before ``start_timeout``. ``stop()`` stops only the processes this home started.
"""

import contextlib
import json
import os
import pathlib
import socket
import time
from urllib import parse
import urllib.error
import urllib.request

from novaclient import client as nova_client
from sqlalchemy import engine

from tests.integration.openstack_lite import bootstrap
from tests.integration.openstack_lite import config_files
from tests.integration.openstack_lite import credentials
from tests.integration.openstack_lite import handle
from tests.integration.openstack_lite import installer
from tests.integration.openstack_lite import processes
from tests.integration.openstack_lite import provision

# Every HTTP call of the start has this limit, so the start as a whole is bounded:
# waiting and bootstrap by start_timeout, provisioning by a few calls of at most this.
REQUEST_TIMEOUT = 60
# The path each HTTP service answers on once it serves (others: '/').
HTTP_PROBES = {'keystone': '/v3', 'glance': '/versions'}


class Unavailable(Exception):
    """A prerequisite is missing: the environment cannot be built here."""


class StartupFailed(Exception):
    """The environment was built but did not come up."""


def read_transport_url(settings):
    return (settings.state / 'transport_url').read_text().strip()


def _reachable(url_host, port):
    try:
        with socket.create_connection((url_host, port), timeout=3):
            return True
    except OSError:
        return False


class Environment:
    def __init__(self, settings):
        self.settings = settings
        self.procs = processes.ProcessManager(settings.home, settings.log_dir,
                                              settings.run_dir)
        self.timings = {}
        self.waits = {}  # seconds spent waiting for each step of the start
        self.trace = []  # what a wait saw that was not ready yet, when it changed
        self._not_ready = None
        self.notes = []
        self._deadline = None

    # ------------------------------------------------------------ helpers
    def _timed(self, name, func, *args):
        began = time.monotonic()
        try:
            return func(*args)
        finally:
            self.timings[name] = round(time.monotonic() - began, 1)

    def _failure(self, message, services=None):
        names = services or sorted(p.stem for p in self.settings.run_dir.glob('*.pid'))
        tails = '\n'.join(f'---- {self.procs.log_path(n)} (tail)\n'
                          f'{processes.tail(self.procs.log_path(n), 25)}' for n in names)
        return StartupFailed(f'{message}\n{tails}')

    def _check_alive(self):
        dead = self.procs.dead()
        if dead:
            raise self._failure(f'openstack-lite: {", ".join(dead)} exited during startup',
                                dead)

    def _wait(self, what, predicate, services=None):
        """Poll ``predicate`` until true, a service dies or the start deadline passes."""
        last_error, began, self._not_ready, seen = None, time.monotonic(), None, None
        while True:
            self._check_alive()
            try:
                if predicate():
                    self.waits[what] = round(time.monotonic() - began, 1)
                    return
                if self._not_ready and self._not_ready != seen:
                    seen = self._not_ready
                    self.trace.append(f'{time.monotonic() - began:5.1f} s {what}: {seen}')
            except Exception as exc:  # not ready yet: connection refused, 503...
                last_error = exc
            if time.monotonic() > self._deadline:
                raise self._failure(
                    f'openstack-lite: timed out ({self.settings.start_timeout:.0f} s) '
                    f'waiting for {what}; last error: {last_error!r}; last state: '
                    f'{self._not_ready}', services)
            time.sleep(0.3)

    # ------------------------------------------------------------ steps
    def check_prerequisites(self):
        db = engine.make_url(self.settings.mysql_url)
        if not _reachable(db.host or '127.0.0.1', db.port or 3306):
            raise Unavailable(f'openstack-lite needs MariaDB/MySQL at {db.host}:{db.port}')
        rabbit = parse.urlsplit(self.settings.rabbit_url)
        if not _reachable(rabbit.hostname, rabbit.port or 5672):
            raise Unavailable(f'openstack-lite needs RabbitMQ at {rabbit.hostname}:'
                              f'{rabbit.port or 5672}')

    def install(self):
        try:
            stamp, fresh = self._timed('install', installer.ensure_installed, self.settings)
        except installer.InstallError as exc:
            raise Unavailable(f'{exc}\n{processes.tail(self.settings.log_dir / "install.log")}')
        if not fresh:
            self.notes.append('venv reused')
        return stamp

    def _prepare(self, stamp):
        """Write configs; bootstrap from nothing when the fingerprint changed."""
        settings = self.settings
        marker = settings.state / '.bootstrapped'
        fingerprint = settings.fingerprint(stamp)
        fresh = (not marker.exists() or marker.read_text().strip() != fingerprint
                 or bootstrap.recorded_fingerprint(settings) != fingerprint)
        if fresh:
            bootstrap.wipe_state(settings)
            settings.log_dir.mkdir(parents=True, exist_ok=True)
            with open(settings.log_dir / 'bootstrap.log', 'w') as log:
                vhost = bootstrap.ensure_vhost(settings, log, recreate=True)
            transport_url = settings.transport_url(vhost)
            bootstrap.recreate_databases(settings)
            config_files.write_all(settings, transport_url)
            (settings.state / 'transport_url').write_text(transport_url + '\n')
            try:
                self.timings['bootstrap-cpu'] = bootstrap.initialise(
                    settings, transport_url, max(1.0, self._deadline - time.monotonic()))
            except (bootstrap.BootstrapError, OSError) as exc:
                logs = sorted(settings.log_dir.glob('bootstrap-*.log'))
                raise StartupFailed(f'{exc}\n' + '\n'.join(
                    f'---- {p}\n{processes.tail(p, 15)}' for p in logs))
            marker.write_text(fingerprint + '\n')
            bootstrap.record_fingerprint(settings, fingerprint)
            self.notes.append('bootstrapped afresh')
        else:
            transport_url = read_transport_url(settings)
            if settings.rabbit_vhost and transport_url.endswith('/' + settings.rabbit_vhost):
                with open(settings.log_dir / 'bootstrap.log', 'a') as log:
                    bootstrap.ensure_vhost(settings, log)
            config_files.write_all(settings, transport_url)
            self.notes.append('state reused')

    def _check_ports(self):
        busy = [f'{name}:{port}' for name, port in self.settings.ports.items()
                if processes.port_open(port)]
        if busy:
            raise StartupFailed(
                'openstack-lite: ports already in use by another program: '
                f'{", ".join(busy)} (set CLIMATE_OSL_<SERVICE>_PORT to move them)')

    def _launch_services(self):
        settings, venv_python = self.settings, self.settings.bin('python')
        here = pathlib.Path(__file__).resolve().parent
        serve = [venv_python, '-P', f'{here}/wsgi_server.py']
        env = dict(os.environ)
        env.pop('PYTHONPATH', None)
        env.pop(processes.OWNER_VAR, None)

        def wsgi(name, app, conf_var, conf_dir):
            self.procs.launch(name, serve + [app, str(settings.ports[name])],
                              {**env, conf_var: str(settings.etc / conf_dir)})

        wsgi('keystone', 'keystone.wsgi.api:application', 'OS_KEYSTONE_CONFIG_DIR', 'keystone')
        wsgi('placement', 'placement.wsgi.api:application', 'OS_PLACEMENT_CONFIG_DIR',
             'placement')
        wsgi('glance', 'glance.wsgi.api:application', 'OS_GLANCE_CONFIG_DIR', 'glance')
        wsgi('nova-api', 'nova.wsgi.osapi_compute:application', 'OS_NOVA_CONFIG_DIR', 'nova')
        self.procs.launch('neutron-stub', [venv_python, '-P', f'{here}/neutron_stub.py',
                                           str(settings.ports['neutron-stub'])], env)
        nova_conf = ['--config-file', str(settings.etc / 'nova/nova.conf')]
        plugin_env = {**env, 'PYTHONPATH': ':'.join(settings.pythonpath)}
        return env, plugin_env, nova_conf

    def _launch_nova_services(self, env, plugin_env, nova_conf):
        """nova-conductor and nova-scheduler: once Keystone knows their service user
        and project (nova-scheduler signs in to reach Placement as it starts, and
        exits on a 401, as it did after a fresh bootstrap when it won the race)."""
        settings = self.settings
        self.procs.launch('nova-conductor', [settings.bin('nova-conductor'), *nova_conf], env)
        self.procs.launch('nova-scheduler', [
            settings.bin('nova-scheduler'), *nova_conf,
            '--config-file', str(settings.etc / 'nova/scheduler.conf')], plugin_env)

    def _launch_computes(self, plugin_env, nova_conf):
        for compute in self.settings.computes:
            self.procs.launch(f'nova-compute-{compute.name}', [
                self.settings.bin('nova-compute'), *nova_conf, '--config-file',
                str(self.settings.etc / f'nova/compute-{compute.name}.conf')], plugin_env)

    def _http_up(self, name):
        """Any HTTP answer means the server serves; refused connections raise."""
        try:
            urllib.request.urlopen(self.settings.url(name, HTTP_PROBES.get(name, '/')),
                                   timeout=5)
        except urllib.error.HTTPError:
            pass
        return True

    def _hypervisors_ready(self, nova, session):
        def placement_get(path):
            return handle.placement_get(session, path)

        want = {c.name: c for c in self.settings.computes}
        hypervisors = {h.hypervisor_hostname: h for h in nova.hypervisors.list()}
        for name, compute in want.items():
            hv = hypervisors.get(name)
            if hv is None or (hv.state, hv.status, hv.vcpus) != ('up', 'enabled',
                                                                 compute.vcpus):
                self._not_ready = f'hypervisor {name}: ' + (
                    'not listed' if hv is None else f'{hv.state}/{hv.status}/{hv.vcpus}')
                return False
        providers = placement_get('/resource_providers')['resource_providers']
        by_name = {p['name']: p for p in providers}
        for name, compute in want.items():
            if name not in by_name:
                self._not_ready = f'no resource provider {name}'
                return False
            inventories = placement_get(
                f'/resource_providers/{by_name[name]["uuid"]}/inventories')['inventories']
            if inventories.get('VCPU', {}).get('total') != compute.vcpus:
                self._not_ready = f'resource provider {name}: VCPU {inventories.get("VCPU")}'
                return False
        return True

    def _keystone_setup(self):
        """Provision Keystone unless this very catalog was provisioned before."""
        stamp_file = self.settings.state / '.keystone-provisioned'
        wanted = json.dumps(provision.catalog(self.settings), sort_keys=True)
        if stamp_file.exists():
            stamp = json.loads(stamp_file.read_text())
            if stamp['catalog'] == wanted:
                return stamp['projects']
        projects = provision.keystone(self.settings, self._admin_session)
        stamp_file.write_text(json.dumps({'catalog': wanted, 'projects': projects}))
        return projects

    # ------------------------------------------------------------ lifecycle
    def start(self):
        began = time.monotonic()
        self.check_prerequisites()
        stamp = self.install()
        stopped = self.procs.stop()
        if stopped:
            self.notes.append(f'stopped leftovers of an earlier run: {", ".join(stopped)}')
        self._check_ports()
        self._deadline = time.monotonic() + self.settings.start_timeout
        try:
            self._timed('bootstrap', self._prepare, stamp)
            self._timed('services', self._start_services)
            result = self._timed('provision', self._provision)
        except BaseException as exc:
            failure = exc
            if isinstance(exc, Exception) and not isinstance(exc, StartupFailed):
                failure = self._failure(f'openstack-lite: start failed: {exc!r}')
            self.procs.stop()  # never leave a half-started environment behind
            if failure is exc:
                raise
            raise failure from exc
        self.timings['total'] = round(time.monotonic() - began, 1)
        result.timings = dict(self.timings)
        (self.settings.log_dir / 'timings.json').write_text(json.dumps(
            {'timings': self.timings, 'waits': self.waits, 'notes': self.notes,
             'trace': self.trace}, indent=1))
        return result

    def _start_services(self):
        admin = credentials.Credentials(self.settings.auth_url, 'admin',
                                        self.settings.admin_password, 'admin')
        env, plugin_env, nova_conf = self._launch_services()
        self._wait('keystone', lambda: self._http_up('keystone'), ['keystone'])
        self._admin_session = admin.session(timeout=REQUEST_TIMEOUT)
        self._project_ids = self._timed('keystone-setup', self._keystone_setup)
        self._launch_nova_services(env, plugin_env, nova_conf)
        # A new token: the first one's catalog predates the endpoints just created.
        self._admin_session = admin.session(timeout=REQUEST_TIMEOUT)
        self._wait('placement', lambda: self._http_up('placement'), ['placement'])
        self._launch_computes(plugin_env, nova_conf)
        self._wait('nova-api and glance', lambda: self._http_up('nova-api')
                   and self._http_up('glance'), ['nova-api', 'glance'])
        nova = nova_client.Client(handle.HYPERVISOR_DETAILS_MICROVERSION,
                                  session=self._admin_session)
        computes = [c.name for c in self.settings.computes]
        self._wait('nova-compute services', lambda: {
            s.host for s in nova.services.list(binary='nova-compute') if s.state == 'up'
        } >= set(computes))
        self._wait('hypervisors with their capacities in Nova and Placement',
                   lambda: self._hypervisors_ready(nova, self._admin_session))
        # nova-scheduler maps new computes into cell1 every few seconds
        # (discover_hosts_in_cells_interval); a server cannot be scheduled before.
        self._wait('computes mapped into cell1',
                   lambda: set(computes) <= bootstrap.mapped_hosts(self.settings),
                   ['nova-scheduler'])

    def _provision(self):
        session = self._admin_session
        removed = provision.clean_stale(session)
        flavor_id = provision.flavor(session)
        image_id = provision.image(session)
        return handle.OpenStackLite(self.settings, self._project_ids, flavor_id, image_id,
                                    stale_removed=removed, services=ServiceControl(self))

    def stop_service(self, name):
        """Stop one running service (a fault for a test to inject)."""
        if name not in self.procs.specs:
            raise KeyError(f'no service {name!r}; known: {sorted(self.procs.specs)}')
        return self.procs.stop([name])

    def start_service(self, name, timeout=120):
        """Start a service stopped by ``stop_service`` again; an HTTP service is
        back once it answers."""
        if name in self.procs.running():
            return
        self.procs.relaunch(name)
        if name in self.settings.ports:
            self._deadline = time.monotonic() + timeout
            self._wait(f'{name} to answer again', lambda: self._http_up(name),
                       [name])

    def memory(self):
        """``{service: (RSS MiB, PSS MiB)}`` of the running services."""
        return {name: processes.memory_mib([pid])
                for name, pid in sorted(self.procs.running().items())}

    def stop(self):
        began = time.monotonic()
        stopped = self.procs.stop()
        self.timings['stop'] = round(time.monotonic() - began, 1)
        return stopped


class ServiceControl:
    """What a test may do to the running services: stop one and start it again.

    ``with openstack.services.stopped('nova-api'): ...`` runs the block with that
    service down and always brings it back (waiting until it answers).
    """

    def __init__(self, environment):
        self._environment = environment

    @property
    def names(self):
        return sorted(self._environment.procs.running())

    def stop(self, name):
        return self._environment.stop_service(name)

    def start(self, name, timeout=120):
        self._environment.start_service(name, timeout)

    @contextlib.contextmanager
    def stopped(self, name):
        self.stop(name)
        try:
            yield
        finally:
            self.start(name)
