"""Loads the resource plugins named in ``[manager] plugins`` (stevedore)."""

from oslo_log import log as logging
from stevedore import named

from climate import compute
from climate import exceptions

LOG = logging.getLogger(__name__)
NAMESPACE = 'climate.resource.plugins'


def load_plugins(conf):
    """``{resource_type: plugin}`` for every configured plugin; fail loudly otherwise."""
    names = list(conf.manager.plugins)
    if not names:
        return {}

    def missing(names_missing):
        raise exceptions.PluginConfigurationError(
            error=f'no such plugin(s): {", ".join(sorted(names_missing))} '
                  f'(namespace {NAMESPACE})')

    def failed(manager, entrypoint, exc):
        raise exceptions.PluginConfigurationError(
            error=f'plugin {entrypoint.name} failed to load: {exc}') from exc

    manager = named.NamedExtensionManager(
        NAMESPACE, names, invoke_on_load=False, name_order=True,
        on_missing_entrypoints_callback=missing, on_load_failure_callback=failed)
    plugins = {}
    shared_compute = None
    for extension in manager:
        cls = extension.plugin
        try:
            if getattr(cls, 'uses_compute', False):
                # One driver for all plugins: with the memory driver, two instances
                # would be two different simulated Novas.
                shared_compute = shared_compute or compute.get_driver(conf)
                plugin = cls(conf, compute_driver=shared_compute)
            else:
                plugin = cls(conf)
        except Exception as exc:
            raise exceptions.PluginConfigurationError(
                error=f'plugin {extension.name} failed to load: {exc}') from exc
        if plugin.resource_type in plugins:
            raise exceptions.PluginConfigurationError(
                error=f'two plugins handle {plugin.resource_type}')
        plugins[plugin.resource_type] = plugin
        LOG.info('Loaded plugin %s for %s', extension.name, plugin.resource_type)
    return plugins
