"""The gabbi stories of ``gabbits/`` on every database backend (API and manager in
this process), ``gabbits-no-hosts/`` without a host plugin, ``gabbits-paging/`` with pages of two
items (``[api] max_limit``), ``gabbits-real-hosts/`` and ``gabbits-host-failures/`` with the
real physical:host plugin on the in-memory compute driver, ``gabbits-capacity/`` with the
real host and capacity plugins, ``gabbits-keystone/``
behind keystonemiddleware checking tokens with a fake Keystone over HTTP; and some
stories again with a climate-manager process on MariaDB over RabbitMQ.

Each YAML file is a test class (``TestLeases``, ``TestLeasesOverRabbitmq``, …) with
one test per request, named after it (``test_request[<backend>-<request name>]``);
the class's server and database last for the story, on each backend in turn.
"""

import pytest

from tests import backends
from tests.functional.api import conftest as api
from tests.functional.api import stories

# [api] max_limit of the gabbits-paging stories: pages of two show every page edge.
PAGING_MAX_LIMIT = 2


@pytest.fixture(scope='class')
def story_local_api(class_migrated_database):
    conf = api.make_conf()
    with api.local_server(conf) as server:
        yield server
    conf.reset()


@pytest.fixture(scope='class')
def story_local_api_small_pages(class_migrated_database):
    conf = api.make_conf(**{'api.max_limit': PAGING_MAX_LIMIT})
    with api.local_server(conf, start=False) as server:
        yield server
    conf.reset()


@pytest.fixture(scope='class')
def story_local_api_without_hosts(class_migrated_database):
    conf = api.make_conf()
    with api.local_server(conf, hosts=False, start=False) as server:
        yield server
    conf.reset()


@pytest.fixture(scope='class')
def story_real_hosts_api(class_migrated_database):
    """The real physical:host plugin on the in-memory compute driver (hypervisors
    compute-1..3), for stories whose answers depend on real host matching."""
    from climate.plugins.physical_host import plugin as host_plugin
    conf = api.make_conf(**{'compute.driver': 'memory'})
    with api.local_server(conf, plugins={
            'physical:host': host_plugin.PhysicalHostPlugin(conf)}) as server:
        yield server
    conf.reset()


@pytest.fixture(scope='class')
def story_keystone_api(class_migrated_database, tmp_path_factory):
    from tests.functional.api import fake_keystone
    keystone = fake_keystone.FakeKeystone()
    try:
        with api.keystone_server(keystone, tmp_path_factory.mktemp('keystone')) as server:
            yield server
    finally:
        keystone.stop()


@pytest.fixture(scope='class')
def story_rabbit_api(class_migrated_database, tmp_path_factory):
    backends.check('rabbit', pytest.skip, pytest.fail)
    with pytest.MonkeyPatch.context() as monkeypatch, api.rabbit_server(
            class_migrated_database, backends.RABBIT_URL,
            tmp_path_factory.mktemp('rabbit'), monkeypatch) as server:
        yield server


@pytest.fixture(scope='class')
def story_capacity_api(class_migrated_database):
    """The real physical:host, virtual:instance and flavor:instance plugins on one
    in-memory compute driver (hypervisors of 8 vCPUs; public flavors ``m1.test`` of
    2 vCPUs, 1024 MB, 10 GB and ``42`` of 1 vCPU, 512 MB, 1 GB)."""
    yield from capacity_server(api.make_conf())


def capacity_server(conf):
    """The server of :func:`story_capacity_api` on ``conf`` (a generator for a
    fixture: yields the server, then stops it and resets ``conf``)."""
    from climate.compute.memory import driver as memory_driver
    from climate.manager import server as manager_server
    from climate.plugins.instance_capacity import plugin as capacity_plugin
    from climate.plugins.physical_host import plugin as host_plugin
    from climate.plugins.virtual_instance import plugin as instance_plugin
    driver = memory_driver.MemoryDriver(conf)
    driver.add_flavor('m1.test', 'm1.test', vcpus=2, ram=1024, disk=10)
    driver.add_flavor('42', 'm1.numbered', vcpus=1, ram=512, disk=1)
    plugins = {
        'physical:host': host_plugin.PhysicalHostPlugin(conf, compute_driver=driver),
        'virtual:instance': instance_plugin.VirtualInstancePlugin(
            conf, compute_driver=driver),
        'flavor:instance': capacity_plugin.FlavorInstancePlugin(
            conf, compute_driver=driver)}
    manager = manager_server.Manager(conf, serve_rpc=False, plugins=plugins,
                                     notifier=api.NoNotifier())
    server = api.LiveServer(api.api_app.build(conf, manager.api))
    server.compute = driver
    try:
        yield server
    finally:
        server.stop()
        conf.reset()


def story_class(directory, name, server_fixture, suffix='', databases=None):
    """A test class running ``directory/name`` against ``server_fixture``."""
    ids = stories.request_names(directory, name)
    class_name = 'Test' + ''.join(
        word.capitalize() for word in name[:-5].split('-')) + suffix

    def test_request(self, request, step):
        server = request.getfixturevalue(server_fixture)
        if not hasattr(server, 'story'):
            server.story = stories.Story(directory, name, server.host, server.port)
        server.story.run(step)

    test_request = pytest.mark.parametrize('step', range(len(ids)), ids=ids)(test_request)
    cls = type(class_name, (), {'test_request': test_request,
                                '__doc__': f'The requests of {directory}/{name}.'})
    cls = pytest.mark.usefixtures(server_fixture)(cls)
    # A story's requests depend on each other: one xdist worker runs them in order.
    cls = pytest.mark.xdist_group(f'story-{directory}-{name}')(cls)
    if databases is not None:
        cls = pytest.mark.parametrize('class_migrated_database', databases,
                                      indirect=True)(cls)
    return cls


def _add(cls):
    globals()[cls.__name__] = cls
    return cls


for _name in stories.story_files('gabbits'):
    _add(story_class('gabbits', _name, 'story_local_api'))

for _name in stories.story_files('gabbits-no-hosts'):
    _add(story_class('gabbits-no-hosts', _name, 'story_local_api_without_hosts',
                     'WithoutHostPlugin'))

for _name in stories.story_files('gabbits-paging'):
    _add(story_class('gabbits-paging', _name, 'story_local_api_small_pages',
                     'WithSmallPages'))

for _name in stories.story_files('gabbits-host-failures'):
    _add(story_class('gabbits-host-failures', _name, 'story_real_hosts_api',
                     'WithTheHostPlugin', databases=['sqlite']))

for _name in stories.story_files('gabbits-real-hosts'):
    # The wire format does not depend on the database; the search's SQL is checked
    # on every backend in tests/functional/db/test_availability.py.
    _add(story_class('gabbits-real-hosts', _name, 'story_real_hosts_api',
                     'WithRealHostPlugin', databases=['sqlite']))

for _name in stories.story_files('gabbits-capacity'):
    # The wire format does not depend on the database; the capacity invariant's
    # tests on MariaDB and PostgreSQL are tests/functional/plugins/capacity/.
    _add(story_class('gabbits-capacity', _name, 'story_capacity_api', 'WithCapacity',
                     databases=['sqlite']))

for _name in stories.story_files('gabbits-keystone'):
    _cls = _add(story_class('gabbits-keystone', _name, 'story_keystone_api',
                            'WithKeystone', databases=['sqlite']))

    def _tokens_were_checked_over_http(self, story_keystone_api):
        assert story_keystone_api.keystone.validations

    # After the requests (pytest keeps the order of definition).
    _cls.test_tokens_were_checked_over_http = _tokens_were_checked_over_http


RABBIT_STORIES = ['leases.yaml', 'lease-errors.yaml', 'hosts.yaml', 'lease-events.yaml',
                  'lease-idempotency.yaml']

for _name in RABBIT_STORIES:
    _add(story_class('gabbits', _name, 'story_rabbit_api', 'OverRabbitmq',
                     databases=['mysql']))
