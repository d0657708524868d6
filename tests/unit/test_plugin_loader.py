"""Plugins load by Blazar's entry-point names, share one compute driver, fail loudly."""

from oslo_config import cfg
import pytest

from climate import exceptions
import climate.conf as climate_conf
from climate.plugins import loader


@pytest.fixture
def plugin_conf():
    conf = cfg.ConfigOpts()
    for module in climate_conf.ALL_MODULES:
        module.register_opts(conf)
    conf([], project='climate', default_config_files=[])
    conf.set_override('driver', 'memory', group='compute')
    yield conf
    conf.reset()


def test_plugins_load_by_name_and_share_the_compute_driver(plugin_conf):
    plugin_conf.set_override('plugins', ['dummy.plugin', 'physical.host.plugin',
                                         'virtual.instance.plugin'], group='manager')
    plugins = loader.load_plugins(plugin_conf)
    assert set(plugins) == {'dummy:resource', 'physical:host', 'virtual:instance'}
    # One simulated Nova: a host enrolled through one plugin is seen by the other.
    assert plugins['physical:host'].compute is plugins['virtual:instance'].compute


def test_unknown_plugin_name_is_a_start_up_error(plugin_conf):
    plugin_conf.set_override('plugins', ['dummy.plugin', 'no.such.plugin'],
                             group='manager')
    with pytest.raises(exceptions.PluginConfigurationError) as err:
        loader.load_plugins(plugin_conf)
    assert 'no.such.plugin' in str(err.value)


def test_two_plugins_for_one_resource_type_is_an_error(plugin_conf):
    plugin_conf.set_override('plugins', ['dummy.plugin', 'dummy.plugin'],
                             group='manager')
    with pytest.raises(exceptions.PluginConfigurationError) as err:
        loader.load_plugins(plugin_conf)
    assert 'two plugins handle dummy:resource' in str(err.value)
