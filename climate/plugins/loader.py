"""Loads the resource plugins named in ``[manager] plugins`` (stevedore)."""

from oslo_log import log as logging
from stevedore import named

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
        NAMESPACE, names, invoke_on_load=True, invoke_args=(conf,), name_order=True,
        on_missing_entrypoints_callback=missing, on_load_failure_callback=failed)
    plugins = {}
    for extension in manager:
        resource_type = extension.obj.resource_type
        if resource_type in plugins:
            raise exceptions.PluginConfigurationError(
                error=f'two plugins handle {resource_type}')
        plugins[resource_type] = extension.obj
        LOG.info('Loaded plugin %s for %s', extension.name, resource_type)
    return plugins
