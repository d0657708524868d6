"""The stories of ``gabbits-hostile/``: hostile input against the API wired to the
real ``physical:host`` plugin (over the in-memory compute driver, whose hypervisors
are ``compute-1:id=1`` …), on every database backend, with the production body limit.

Each answer must be a clear 4xx in Climate's error shape, and what existed before must
be unchanged; the stories check both.
"""

import os

import pytest

from climate.manager import server as manager_server
from climate.plugins import dummy
from climate.plugins.physical_host import plugin as host_plugin
from tests.functional.api import conftest as api
from tests.functional.api import test_stories

# $ENVIRON values the stories send as raw bodies or fields (too large to write out).
DEEP = 10000
HOSTILE_VALUES = {
    'CLIMATE_DEEP_BODY': '[' * DEEP + ']' * DEEP,
    'CLIMATE_DEEP_OBJECT_BODY': '{"a":' * DEEP + '1' + '}' * DEEP,
    'CLIMATE_DEEP_PROPERTIES': '[' * 900 + ']' * 900,
    'CLIMATE_LONG_PROPERTIES': '["==", "$gpu", "' + 'x' * 20000 + '"]',
    'CLIMATE_LONG_NAME': 'n' * 50000,
    'CLIMATE_LONG_PROPERTY_NAME': 'x' * 5000,
    # A string: gabbi would make a number of it, which JSON cannot carry whole.
    'CLIMATE_LONG_NUMBER': ' ' + '7' * 5000,
    'CLIMATE_LONG_NUMBER_BODY': '{"name": "n", "start_date": "2030-01-01 10:00", '
                                '"end_date": "2030-01-02 10:00", "reservations": '
                                '[{"resource_type": "dummy:resource", "n": '
                                + '7' * 5000 + '}]}',
}


@pytest.fixture(scope='class')
def story_real_hosts_api(class_migrated_database):
    # The memory driver's simulated waits, short (as the host plugin's own tests do).
    conf = api.make_conf(**{'compute.driver': 'memory', 'compute.poll_interval': 0.02})
    conf.clear_override('max_request_body_size', group='api')
    plugins = {'dummy:resource': dummy.DummyPlugin(conf),
               'physical:host': host_plugin.PhysicalHostPlugin(conf)}
    manager = manager_server.Manager(conf, serve_rpc=False, plugins=plugins,
                                     notifier=api.NoNotifier())
    manager.start()
    server = api.LiveServer(api.api_app.build(conf, manager.api))
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in HOSTILE_VALUES.items():
            monkeypatch.setitem(os.environ, key, value)
        try:
            yield server
        finally:
            server.stop()
            manager.stop()
            conf.reset()


for _name in test_stories.stories.story_files('gabbits-hostile'):
    _cls = test_stories.story_class('gabbits-hostile', _name, 'story_real_hosts_api',
                                    'WithRealHostPlugin')
    globals()[_cls.__name__] = _cls
