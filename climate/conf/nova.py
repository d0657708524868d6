"""Options for talking to Nova ([nova] section).

Authentication, session and endpoint options are keystoneauth1's standard ones,
registered the way Nova registers its [placement] section, so the usual
``auth_type = password``, ``auth_url``, ``username`` … ``region_name``,
``valid_interfaces`` and ``endpoint_override`` work. The password plugin's options are
listed for the sample; the plugin named by ``auth_type`` registers its own at load time.
"""

import copy

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = 'nova'
TITLE = 'Nova options'
HELP = ('How Climate reaches Nova: a service account with the admin role (it moves hosts '
        'between aggregates and lists servers of every project). Climate uses compute '
        'API microversion 2.87 whatever version, min_version and max_version say, and '
        'reads image status from the image service (Glance) of the same catalog, region '
        'and interfaces.')


def _group():
    # A new OptGroup per ConfigOpts: keystoneauth registers the auth plugin's options
    # into the group when it loads the plugin, and a shared OptGroup object would carry
    # them (some required) into every other ConfigOpts.
    return cfg.OptGroup(GROUP, title=TITLE, help=HELP)


DEFAULT_SERVICE_TYPE = 'compute'
DEFAULT_VALID_INTERFACES = ['internal', 'public']

nova_opts = [
    cfg.StrOpt('aggregate_freepool_name',
               default='freepool',
               help='Name of the Nova aggregate holding enrolled hosts that are not in '
                    'a reservation. The operator creates it.'),
]


def _adapter_opts():
    opts = copy.deepcopy(ks_loading.get_adapter_conf_options(include_deprecated=False))
    cfg.set_defaults(opts, service_type=DEFAULT_SERVICE_TYPE,
                     valid_interfaces=DEFAULT_VALID_INTERFACES)
    return opts


def register_opts(conf):
    conf.register_group(_group())
    conf.register_opts(nova_opts, group=GROUP)
    ks_loading.register_session_conf_options(conf, GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)
    conf.register_opts(_adapter_opts(), group=GROUP)


def list_opts():
    return {_group(): (nova_opts
                      + ks_loading.get_session_conf_options()
                      + ks_loading.get_auth_common_conf_options()
                      + ks_loading.get_auth_plugin_conf_options('password')
                      + _adapter_opts())}
