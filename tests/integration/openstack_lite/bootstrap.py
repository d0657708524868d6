"""Create the environment's databases, broker vhost and keys from nothing.

Runs on the first start and whenever ``Settings.fingerprint`` changes (new venv,
other prefix, other hosts...): it drops this environment's own databases
(``<prefix>*``) and state first, so computes never meet a stale registration. The
four services' schema syncs are independent and run in parallel.
"""

import concurrent.futures
import grp
import os
import pwd
import resource
import shutil
import subprocess
import time
from urllib import parse

import sqlalchemy as sa


class BootstrapError(Exception):
    pass


def ensure_vhost(settings, log, recreate=False):
    """Give the environment its own RabbitMQ vhost; ``None`` means the default one.

    Nova's queues are named after topics (``conductor``, ``compute.cmp1`` ...), so two
    copies on one vhost would steal each other's messages whatever their DB prefix.
    Needs ``rabbitmqctl`` (root, local broker); without it the default vhost is used.
    ``recreate`` empties it first (a fresh bootstrap wants no stale messages).
    """
    if not settings.rabbit_vhost or not shutil.which('rabbitmqctl'):
        return None
    username = parse.urlsplit(settings.rabbit_url).username or 'guest'
    try:
        listed = subprocess.run(['rabbitmqctl', '-q', 'list_vhosts'], capture_output=True,
                                text=True, timeout=60, check=True).stdout.split()
        if recreate and settings.rabbit_vhost in listed:
            subprocess.run(['rabbitmqctl', '-q', 'delete_vhost', settings.rabbit_vhost],
                           capture_output=True, timeout=60, check=True)
            listed.remove(settings.rabbit_vhost)
        if settings.rabbit_vhost not in listed:
            for cmd in (['add_vhost', settings.rabbit_vhost],
                        ['set_permissions', '-p', settings.rabbit_vhost,
                         username, '.*', '.*', '.*']):
                subprocess.run(['rabbitmqctl', '-q', *cmd], capture_output=True,
                               timeout=60, check=True)
    except (subprocess.SubprocessError, OSError) as exc:
        log.write(f'rabbitmqctl failed ({exc}); using the default vhost\n')
        return None
    return settings.rabbit_vhost


def _admin_sql(settings, statements):
    engine = sa.create_engine(settings.mysql_url, isolation_level='AUTOCOMMIT',
                              connect_args={'connect_timeout': 5})
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def drop_databases(settings):
    _admin_sql(settings, [f'DROP DATABASE IF EXISTS `{name}`'
                          for name in settings.database_names])


def recreate_databases(settings):
    drop_databases(settings)
    _admin_sql(settings, [f'CREATE DATABASE `{name}` CHARACTER SET utf8'
                          for name in settings.database_names])


def _meta_url(settings):
    return settings.database_url('meta')


def recorded_fingerprint(settings):
    """The fingerprint of the copy that last bootstrapped these databases, or None.

    Two copies (a clone and CI, say) with the same prefix take the databases over in
    turn; each notices the other's record here and bootstraps afresh.
    """
    engine = sa.create_engine(_meta_url(settings), connect_args={'connect_timeout': 5})
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text('SELECT fingerprint FROM owner')).scalar()
    except sa.exc.DBAPIError:  # no database or no table: never bootstrapped
        return None
    finally:
        engine.dispose()


def record_fingerprint(settings, fingerprint):
    engine = sa.create_engine(_meta_url(settings), connect_args={'connect_timeout': 5})
    try:
        with engine.begin() as conn:
            conn.execute(sa.text('CREATE TABLE IF NOT EXISTS owner '
                                 '(fingerprint VARCHAR(64) NOT NULL)'))
            conn.execute(sa.text('DELETE FROM owner'))
            conn.execute(sa.text('INSERT INTO owner VALUES (:f)'), {'f': fingerprint})
    finally:
        engine.dispose()


def mapped_hosts(settings):
    """Compute hosts that nova_api maps to a cell (what scheduling needs)."""
    engine = sa.create_engine(settings.database_url('nova_api'),
                              connect_args={'connect_timeout': 5})
    try:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(sa.text('SELECT host FROM host_mappings'))}
    finally:
        engine.dispose()


def _run_chain(commands, log_path, deadline):
    with open(log_path, 'w') as log:
        for command in commands:
            timeout = max(1.0, deadline - time.monotonic())
            began = time.monotonic()
            log.write(f'$ {" ".join(map(str, command))}\n')
            log.flush()
            try:
                result = subprocess.run(list(map(str, command)), stdout=log,
                                        stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise BootstrapError(f'{command[0]} {command[1:3]} still running after '
                                     f'{timeout:.0f} s; see {log_path}')
            if result.returncode:
                raise BootstrapError(f'{command[0]} {command[1:3]} exited '
                                     f'{result.returncode}; see {log_path}')
            log.write(f'# took {time.monotonic() - began:.1f} s\n')


def _chains(settings, transport_url):
    etc, b = settings.etc, settings.bin
    user_group = ['--keystone-user', pwd.getpwuid(os.getuid()).pw_name,
                  '--keystone-group', grp.getgrgid(os.getgid()).gr_name]
    ks = [b('keystone-manage'), '--config-file', etc / 'keystone/keystone.conf']
    identity = settings.url('keystone', '/v3/')
    nm = [b('nova-manage'), '--config-file', etc / 'nova/nova.conf']
    return {
        'keystone-keys': [
            ks + ['fernet_setup', *user_group],
            ks + ['credential_setup', *user_group],
        ],
        'keystone': [
            ks + ['db_sync'],
            ks + ['bootstrap', '--bootstrap-password', settings.admin_password,
                  '--bootstrap-admin-url', identity, '--bootstrap-internal-url', identity,
                  '--bootstrap-public-url', identity,
                  '--bootstrap-region-id', settings.region],
        ],
        'placement': [[b('placement-manage'), '--config-file',
                       etc / 'placement/placement.conf', 'db', 'sync']],
        'glance': [[b('glance-manage'), '--config-file', etc / 'glance/glance-api.conf',
                    'db_sync']],
        # Nova's three schemas migrate side by side: the cell mappings need only the
        # API schema, and each cell schema is synced as the "local cell" of a config
        # pointing [database] at it (cell0 through the small nova-cell0.conf).
        'nova-api': [
            nm + ['api_db', 'sync'],
            nm + ['cell_v2', 'map_cell0', '--database_connection',
                  settings.database_url('nova_cell0')],
            nm + ['cell_v2', 'create_cell', '--name', 'cell1', '--database_connection',
                  settings.database_url('nova_cell1'), '--transport-url', transport_url],
        ],
        'nova-cell1': [nm + ['db', 'sync', '--local_cell']],
        'nova-cell0': [nm + ['--config-file', etc / 'nova/nova-cell0.conf',
                             'db', 'sync', '--local_cell']],
    }


def wipe_state(settings):
    for path in (settings.state, settings.etc / 'keystone'):
        shutil.rmtree(path, ignore_errors=True)


def initialise(settings, transport_url, timeout):
    """Sync every schema and set up Keystone (configs must be written already).

    Returns the CPU seconds the commands used (their wall time is in the logs).
    """
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    chains = _chains(settings, transport_url)
    (settings.etc / 'nova/nova-cell0.conf').write_text(
        f'[database]\nconnection = {settings.database_url("nova_cell0")}\n')
    deadline = time.monotonic() + timeout
    with concurrent.futures.ThreadPoolExecutor(len(chains)) as pool:
        futures = [pool.submit(_run_chain, commands,
                               settings.log_dir / f'bootstrap-{name}.log', deadline)
                   for name, commands in chains.items()]
        for future in futures:
            future.result()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, 1)
