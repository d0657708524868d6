"""Settings of one openstack-lite environment, read from ``CLIMATE_OSL_*`` variables.

Everything the environment creates lives under ``home`` (default
``<repo>/.openstack-lite``, git-ignored); its MariaDB databases share the prefix
``db_prefix`` and its RabbitMQ traffic goes to a vhost of the same name, so two
copies (two clones, or a clone and CI) never share state as long as they use
different homes, prefixes and ports.
"""

import dataclasses
import hashlib
import json
import os
import pathlib
import shutil
import sys
from urllib import parse

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
HERE = pathlib.Path(__file__).resolve().parent

DEFAULT_COMPUTES = 'cmp1:16:65536:500 cmp2:8:32768:200'
CLIMATE_FILTER = 'climate.scheduler.filter.ClimateFilter'
# Test-only filter shipped with this tooling (probe_filter.py): inert unless a
# server carries the ``osl_only_host`` hint; proves extra filters really load.
PROBE_FILTER = 'tests.integration.openstack_lite.probe_filter.OnlyHostHintFilter'
# compute_driver is relative to nova.virt: see fake_virt.py for the shim module.
FAKE_DRIVER_SHIM = 'climate_osl_fake_virt'
FAKE_DRIVER = f'{FAKE_DRIVER_SHIM}.SizedFakeDriver'

PORTS = {'keystone': 5000, 'nova-api': 8774, 'placement': 8778, 'glance': 9292,
         'neutron-stub': 9696}


@dataclasses.dataclass(frozen=True)
class Compute:
    """One fake hypervisor: its host name and the capacity its driver reports."""
    name: str
    vcpus: int
    memory_mb: int
    local_gb: int


def _env(name, default):
    return os.environ.get(f'CLIMATE_OSL_{name}', default)


def parse_computes(text):
    """``"cmp1:16:65536:500 cmp2:8:32768:200"`` (name:vcpus:memory_mb:local_gb)."""
    computes = []
    for item in text.replace(',', ' ').split():
        name, vcpus, memory_mb, local_gb = item.split(':')
        computes.append(Compute(name, int(vcpus), int(memory_mb), int(local_gb)))
    if len({c.name for c in computes}) != len(computes) or not computes:
        raise ValueError(f'CLIMATE_OSL_COMPUTES needs distinct hosts: {text!r}')
    return tuple(computes)


def climate_filter_present(repo_root=REPO_ROOT):
    """True once ``climate.scheduler.filter.ClimateFilter`` exists in this checkout."""
    for candidate in (repo_root / 'climate/scheduler/filter.py',
                      repo_root / 'climate/scheduler/filter/__init__.py'):
        if candidate.is_file() and 'class ClimateFilter' in candidate.read_text():
            return True
    return False


def extra_filters(repo_root=REPO_ROOT):
    """Dotted paths of the extra nova-scheduler filters to load.

    ``CLIMATE_OSL_EXTRA_FILTERS`` (space or comma separated class paths) replaces the
    default, which is Climate's own filter when it exists in this checkout; ``none``
    loads none. The probe filter is always added (it is inert without its hint).
    """
    value = _env('EXTRA_FILTERS', None)
    if value is None:
        chosen = [CLIMATE_FILTER] if climate_filter_present(repo_root) else []
    elif value.strip().lower() == 'none':
        chosen = []
    else:
        chosen = value.replace(',', ' ').split()
    return tuple(chosen) + (PROBE_FILTER,)


def _python():
    explicit = _env('PYTHON', None)
    if explicit:
        return explicit
    return shutil.which('python3.11') or getattr(sys, '_base_executable', sys.executable)


@dataclasses.dataclass(frozen=True)
class Settings:
    home: pathlib.Path
    db_prefix: str
    ports: dict
    computes: tuple
    mysql_url: str
    rabbit_url: str
    rabbit_vhost: str
    reservation_url: str
    extra_filters: tuple
    pythonpath: tuple
    python: str
    install_timeout: float
    start_timeout: float
    admin_password: str = 'admin'
    region: str = 'RegionOne'

    @classmethod
    def from_env(cls):
        from tests import backends  # the project's own MariaDB/RabbitMQ locations
        prefix = _env('DB_PREFIX', 'climate_osl_')
        if not prefix.replace('_', '').isalnum():
            raise ValueError(f'CLIMATE_OSL_DB_PREFIX must be [A-Za-z0-9_]: {prefix!r}')
        ports = {name: int(_env(name.upper().replace('-', '_') + '_PORT', port))
                 for name, port in PORTS.items()}
        extra_path = tuple(p for p in _env('PYTHONPATH', '').split(os.pathsep) if p)
        return cls(
            home=pathlib.Path(_env('HOME', REPO_ROOT / '.openstack-lite')).resolve(),
            db_prefix=prefix,
            ports=ports,
            computes=parse_computes(_env('COMPUTES', DEFAULT_COMPUTES)),
            mysql_url=_env('MYSQL_URL', backends.ADMIN_URLS['mysql']),
            rabbit_url=_env('RABBIT_URL', backends.RABBIT_URL),
            rabbit_vhost=_env('RABBIT_VHOST', prefix.rstrip('_')),
            reservation_url=_env('RESERVATION_URL', 'http://127.0.0.1:1234/v1'),
            extra_filters=extra_filters(),
            pythonpath=(str(REPO_ROOT),) + extra_path,
            python=_python(),
            install_timeout=float(_env('INSTALL_TIMEOUT', 900)),
            start_timeout=float(_env('START_TIMEOUT', 300)),
        )

    # ---------------------------------------------------------------- paths
    @property
    def venv(self):
        return self.home / 'venv'

    def bin(self, name):
        return str(self.venv / 'bin' / name)

    @property
    def etc(self):
        return self.home / 'etc'

    @property
    def state(self):
        return self.home / 'state'

    @property
    def log_dir(self):
        return self.home / 'log'

    @property
    def run_dir(self):
        return self.home / 'run'

    # ---------------------------------------------------------------- URLs
    def url(self, service, path=''):
        return f'http://127.0.0.1:{self.ports[service]}{path}'

    @property
    def auth_url(self):
        return self.url('keystone', '/v3')

    def database_url(self, name):
        """SQLAlchemy URL of the service database ``<prefix><name>``."""
        split = parse.urlsplit(self.mysql_url)
        return parse.urlunsplit(split._replace(path=f'/{self.db_prefix}{name}',
                                               query='charset=utf8'))

    @property
    def database_names(self):
        return tuple(self.db_prefix + n
                     for n in ('keystone', 'glance', 'nova_api', 'nova_cell0', 'nova_cell1',
                               'placement', 'meta'))

    def transport_url(self, vhost=None):
        split = parse.urlsplit(self.rabbit_url)
        return parse.urlunsplit(split._replace(path='/' + (vhost or '')))

    def fingerprint(self, install_stamp):
        """Changes whenever the databases and state must be created afresh."""
        data = {'install': install_stamp, 'prefix': self.db_prefix,
                'mysql': self.mysql_url, 'rabbit': self.rabbit_url,
                'vhost': self.rabbit_vhost, 'computes': [c.name for c in self.computes],
                'home': str(self.home)}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
