"""The virtual:instance plugin inside a real lease service and event engine.

``world`` is the compute side, either the in-memory driver or the Nova driver talking
HTTP to ``tests.fakes.nova_api.FakeNova`` (``compute_kind`` chooses; both by default),
with helpers to seed servers, look at them and inject faults the same way for both.
``service`` and ``engine`` run in this process on the ``migrated_database`` backend;
tests that do not depend on the database use :data:`sqlite_only`.
"""

import datetime

import pytest

from climate import context as climate_context
from climate.common import timeutils
from climate.compute import memory
from climate.plugins.virtual_instance import plugin as plugin_mod
from tests import manager_processes
from tests.fakes import faults
from tests.fakes import fixtures
from tests.functional import lease_service

PROJECT = 'project-a'
OTHER_PROJECT = 'project-b'

# Only SQLite: for tests of Nova behaviour, where the database backend does not matter.
sqlite_only = pytest.mark.parametrize('database', ['sqlite'], indirect=True)

class World:
    """A compute driver and the simulated Nova behind it."""

    def __init__(self, kind, driver, backend):
        self.kind = kind
        self.driver = driver
        self.backend = backend          # MemoryDriver or FakeNova
        self.faults = None              # ComputeFaults or NovaFaults (tests.fakes.faults)

    def add_server(self, name='vm-1', project_id=PROJECT, status='ACTIVE'):
        return self.backend.add_server(name, 'compute-1', project_id=project_id,
                                       status=status)

    def server(self, server_id):
        return self.driver.get_server(server_id)

    def exists(self, server_id):
        try:
            self.driver.get_server(server_id)
        except Exception:
            return False
        return True

    def wait_status(self, server_id, status, timeout=10):
        wait_for(lambda: self.server(server_id).status == status and
                 self.server(server_id).task_state is None, timeout=timeout)

    def delete_behind_our_back(self, server_id):
        self.driver.delete_server(server_id)
        wait_for(lambda: not self.exists(server_id))

    def set_action_delay(self, seconds):
        self.backend.action_delay = seconds

    def fail(self, method, times=1, retryable=True, after=False):
        self.faults.inject_failure(method, times=times, retryable=retryable,
                                   after=after)

    def images(self):
        """``{image_id: (name, status)}`` of every image Nova knows."""
        images = self.backend._images if self.kind == 'memory' else self.backend.images
        with self.backend._lock if self.kind == 'memory' else self.backend.lock:
            return {i: (image['name'], image['status']) for i, image in images.items()}

    def kill_image(self, image_id):
        if self.kind == 'memory':
            with self.backend._lock:
                self.backend._images[image_id].update(status='killed', pending=None)
        else:
            with self.backend.lock:
                self.backend.images[image_id].update(status='killed', ready_at=None)

    def user_context(self, project_id=OTHER_PROJECT, user_id='user-b'):
        """A member's request context with a token the simulated Keystone accepts:
        what lets the lease get a trust."""
        return fixtures.user_context(self.backend, user_id, project_id)

    def image_owner(self, image_id):
        return self.backend.image_owner(image_id)

    @property
    def service_project(self):
        """The project of the account Climate acts with."""
        return self.backend.project_id

    def trust_ids(self):
        return self.backend.trust_ids()

    def server_actions(self):
        """How many shelve, unshelve and snapshot requests Nova received."""
        if self.kind == 'memory':
            return sum(self.faults.call_count(method) for method in
                       ('shelve_server', 'unshelve_server', 'create_image'))
        return len(self.backend.requests_to('POST', r'/servers/[^/]+/action$'))


@pytest.fixture(params=['memory', 'nova'])
def compute_kind(request):
    return request.param


@pytest.fixture
def world(request, compute_kind, conf):
    conf.set_override('hypervisors', [], 'compute_memory')
    conf.set_override('poll_interval', 0.02, 'compute')
    conf.set_override('wait_timeout', 5, 'compute')
    if compute_kind == 'memory':
        driver = memory.MemoryDriver(conf)
        result = World('memory', driver, driver)
    else:
        fake = request.getfixturevalue('fake_nova')
        result = World('nova', request.getfixturevalue('nova_driver'), fake)
    result.backend.add_hypervisor('compute-1')
    with faults.injector(result.kind, result.driver, result.backend) as injector:
        result.faults = injector
        yield result


@pytest.fixture
def plugin_conf(conf):
    conf.set_override('event_retry_interval', 0.1, group='manager')
    conf.set_override('event_max_attempts', 3, group='manager')
    conf.set_override('max_poll_interval', 2, group='manager')
    conf.set_override('claim_timeout', 3, group='manager')
    conf.set_override('minutes_before_end_lease', 0, group='manager')
    conf.set_override('shelve_lead_time', 0, group='virtual:instance')
    conf.set_override('unshelve_timeout', 5, group='virtual:instance')
    conf.set_override('snapshot_timeout', 5, group='virtual:instance')
    return conf


@pytest.fixture
def plugin(plugin_conf, world):
    return plugin_mod.VirtualInstancePlugin(plugin_conf, compute_driver=world.driver)


@pytest.fixture
def service(migrated_database, plugin_conf, plugin):
    with lease_service.lease_service(plugin_conf, {'virtual:instance': plugin}) as service:
        yield service


@pytest.fixture
def engine(service, plugin_conf):
    with lease_service.running_engine(service, plugin_conf) as engine:
        yield engine


@pytest.fixture
def ctx():
    return climate_context.RequestContext(user_id='u1', project_id=PROJECT,
                                          roles=['member'])


@pytest.fixture
def admin_ctx():
    return climate_context.RequestContext(user_id='admin', project_id='admin-project',
                                          roles=['admin'], is_admin=True)


def soon(seconds):
    return timeutils.utcnow() + datetime.timedelta(seconds=seconds)


def lease_body(server_id, start, end, name='lease', **reservation):
    values = {'resource_type': 'virtual:instance', 'resource_id': server_id}
    values.update(reservation)
    return {'name': name, 'start_date': _text(start), 'end_date': _text(end),
            'reservations': [values]}


def _text(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def status_of(service, ctx, lease_id):
    return service.get_lease(ctx, lease_id)['status']


def wait_status(service, ctx, lease_id, status, timeout=15):
    wait_for(lambda: status_of(service, ctx, lease_id) == status, timeout=timeout)
    return service.get_lease(ctx, lease_id)


wait_for = manager_processes.wait_for
