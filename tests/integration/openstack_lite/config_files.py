"""The configuration files of Keystone, Placement, Glance and Nova.

``write_all`` rewrites every file on each start (cheap, and a change of ports,
capacities or scheduler filters then needs no reset). Choices that matter and why:

- Every service on MariaDB: SQLite answers "database is locked" under concurrency,
  for Nova and Placement on concurrent boots and even for Keystone when two computes
  ask for a token at the same moment.
- One fake compute per host, each with its own ``state_path`` (it keeps the stable
  node identity there) and its own capacity for ``SizedFakeDriver``.
- Allocation ratios 1.0 and nothing reserved: Placement's capacity equals what the
  hypervisors report, which keeps capacity arithmetic in tests simple.
- The extra scheduler filters go into ``scheduler.conf``, read by nova-scheduler only.
"""

import shutil

from tests.integration.openstack_lite import settings as settings_mod

SCHEDULER_FILTERS = ('ComputeFilter', 'ComputeCapabilitiesFilter', 'ImagePropertiesFilter',
                     'ServerGroupAntiAffinityFilter', 'ServerGroupAffinityFilter',
                     'AggregateInstanceExtraSpecsFilter', 'SameHostFilter',
                     'DifferentHostFilter')


def render(sections):
    """INI text from ``{section: {key: value or [values]}}`` (lists repeat the key)."""
    out = []
    for section, options in sections.items():
        out.append(f'[{section}]')
        for key, value in options.items():
            for item in (value if isinstance(value, (list, tuple)) else [value]):
                if isinstance(item, bool):
                    item = str(item).lower()
                out.append(f'{key} = {item}')
        out.append('')
    return '\n'.join(out)


def _password_auth(settings, username, **extra):
    return {'auth_url': settings.url('keystone', '/v3'), 'auth_type': 'password',
            'project_domain_name': 'Default', 'user_domain_name': 'Default',
            'project_name': 'service', 'username': username, 'password': username,
            **extra}


def _authtoken(settings, username):
    return {'www_authenticate_uri': settings.url('keystone', '/'),
            'service_token_roles_required': True,
            **_password_auth(settings, username)}


def keystone_conf(settings):
    keys = settings.etc / 'keystone'
    return {
        'database': {'connection': settings.database_url('keystone')},
        'token': {'provider': 'fernet', 'expiration': 86400},
        'fernet_tokens': {'key_repository': f'{keys}/fernet-keys/'},
        'fernet_receipts': {'key_repository': f'{keys}/fernet-keys/'},
        'credential': {'key_repository': f'{keys}/credential-keys/'},
        # Cheapest bcrypt: test users are created and authenticate on every run.
        'identity': {'password_hash_rounds': 4},
        # In-process cache (one Keystone process, so always consistent): without it
        # every request spends ~0.2 s validating its token against the database.
        'cache': {'enabled': True, 'backend': 'oslo_cache.dict'},
    }


def placement_conf(settings):
    return {
        'api': {'auth_strategy': 'keystone'},
        # What Climate asks of every Placement serving capacity reservations (see its
        # install guide): with the default of 10, a claim retried after a generation
        # conflict counts its own first attempt as earlier usage and passes the
        # capacity check, so racing boots overrun a reservation's units.
        'placement': {'allocation_conflict_retry_count': 1},
        'placement_database': {'connection': settings.database_url('placement')},
        'keystone_authtoken': _authtoken(settings, 'placement'),
    }


def glance_conf(settings):
    glance_state = settings.state / 'glance'
    return {
        'DEFAULT': {'node_staging_uri': f'file://{glance_state}/staging',
                    'worker_self_reference_url': settings.url('glance')},
        'database': {'connection': settings.database_url('glance')},
        'glance_store': {'stores': 'file,http', 'default_store': 'file',
                         'filesystem_store_datadir': f'{glance_state}/images/'},
        'paste_deploy': {'flavor': 'keystone',
                         'config_file': f'{settings.etc}/glance/glance-api-paste.ini'},
        'keystone_authtoken': _authtoken(settings, 'glance'),
    }


def nova_conf(settings, transport_url):
    nova_state = settings.state / 'nova'
    return {
        'DEFAULT': {
            'transport_url': transport_url,
            'state_path': nova_state, 'instances_path': f'{nova_state}/instances',
            'my_ip': '127.0.0.1', 'use_rootwrap_daemon': False,
            'cpu_allocation_ratio': 1.0, 'ram_allocation_ratio': 1.0,
            'disk_allocation_ratio': 1.0, 'reserved_host_memory_mb': 0,
            'reserved_host_disk_mb': 0, 'reserved_host_cpus': 0,
            # Stop within the 5 s that processes.stop gives before SIGKILL.
            'graceful_shutdown_timeout': 2,
            # Periodic tasks start at once, not after a random delay of up to 60 s:
            # new computes are then mapped into cell1 within the 5 s interval below.
            'periodic_fuzzy_delay': 0,
        },
        'api': {'auth_strategy': 'keystone'},
        'wsgi': {'api_paste_config': f'{settings.etc}/nova/api-paste.ini'},
        'api_database': {'connection': settings.database_url('nova_api')},
        'database': {'connection': settings.database_url('nova_cell1')},
        'oslo_concurrency': {'lock_path': f'{nova_state}/lock'},
        'keystone_authtoken': _authtoken(settings, 'nova'),
        'service_user': {'send_service_user_token': True,
                         **_password_auth(settings, 'nova')},
        'placement': {'region_name': settings.region, 'valid_interfaces': 'public',
                      **_password_auth(settings, 'placement')},
        'glance': {'endpoint_override': settings.url('glance')},
        'neutron': {'endpoint_override': settings.url('neutron-stub'),
                    'region_name': settings.region, **_password_auth(settings, 'nova')},
        'vnc': {'enabled': False}, 'spice': {'enabled': False},
        'serial_console': {'enabled': False},
        'filter_scheduler': {'track_instance_changes': True},
        'conductor': {'workers': 1},
        # Computes added later are mapped into the cell without a nova-manage run.
        'scheduler': {'workers': 1, 'discover_hosts_in_cells_interval': 5},
        'oslo_messaging_notifications': {'driver': 'noop'},
    }


def compute_conf(settings, compute):
    state = settings.state / f'nova-{compute.name}'
    return {
        'DEFAULT': {'host': compute.name, 'state_path': state,
                    'instances_path': f'{state}/instances',
                    'compute_driver': settings_mod.FAKE_DRIVER},
        'climate_fake_virt': {'vcpus': compute.vcpus, 'memory_mb': compute.memory_mb,
                              'local_gb': compute.local_gb},
    }


def scheduler_conf(settings):
    names = [path.rsplit('.', 1)[1] for path in settings.extra_filters]
    return {'filter_scheduler': {
        'available_filters': ['nova.scheduler.filters.all_filters',
                              *settings.extra_filters],
        'enabled_filters': ','.join(SCHEDULER_FILTERS + tuple(names)),
    }}


def install_driver_shim(settings):
    """Make ``nova.virt.climate_osl_fake_virt`` re-export ``fake_virt.SizedFakeDriver``."""
    virt = next(settings.venv.glob('lib/python*/site-packages/nova/virt'))
    (virt / f'{settings_mod.FAKE_DRIVER_SHIM}.py').write_text(
        '# Written by Climate\'s openstack-lite test tooling (see its fake_virt.py).\n'
        'from tests.integration.openstack_lite.fake_virt import SizedFakeDriver  # noqa\n')


def write_all(settings, transport_url):
    """Write every file under ``etc/`` and create the state directories."""
    etc, state = settings.etc, settings.state
    for path in (etc / 'keystone/fernet-keys', etc / 'keystone/credential-keys',
                 etc / 'placement', etc / 'glance', etc / 'nova',
                 state / 'glance/staging', state / 'glance/images',
                 state / 'nova/instances', settings.log_dir, settings.run_dir):
        path.mkdir(parents=True, exist_ok=True)
    venv_etc = settings.venv / 'etc'
    shutil.copy(venv_etc / 'nova/api-paste.ini', etc / 'nova/api-paste.ini')
    shutil.copy(venv_etc / 'glance/glance-api-paste.ini', etc / 'glance/glance-api-paste.ini')
    files = {
        etc / 'keystone/keystone.conf': keystone_conf(settings),
        etc / 'placement/placement.conf': placement_conf(settings),
        etc / 'glance/glance-api.conf': glance_conf(settings),
        etc / 'nova/nova.conf': nova_conf(settings, transport_url),
        etc / 'nova/scheduler.conf': scheduler_conf(settings),
    }
    for compute in settings.computes:
        (state / f'nova-{compute.name}/instances').mkdir(parents=True, exist_ok=True)
        files[etc / f'nova/compute-{compute.name}.conf'] = compute_conf(settings, compute)
    for path, sections in files.items():
        path.write_text(render(sections))
    install_driver_shim(settings)
