"""Install the pinned OpenStack services into ``<home>/venv``, once.

The venv is reused while ``requirements.txt``, ``constraints.txt`` and the Python
version are unchanged (a stamp file holds their digest); otherwise it is rebuilt
from scratch so no stale package survives. pip's output goes to ``log/install.log``.
"""

import hashlib
import shutil
import subprocess

from tests.integration.openstack_lite import settings as settings_mod

REQUIREMENTS = settings_mod.HERE / 'requirements.txt'
CONSTRAINTS = settings_mod.HERE / 'constraints.txt'


class InstallError(Exception):
    pass


def _python_version(python):
    return subprocess.run([python, '-c', 'import sys; print(sys.version)'],
                          check=True, capture_output=True, text=True).stdout.strip()


def wanted_stamp(settings):
    digest = hashlib.sha256()
    for path in (REQUIREMENTS, CONSTRAINTS):
        digest.update(path.read_bytes())
    digest.update(_python_version(settings.python).encode())
    return digest.hexdigest()


def _stamp_file(settings):
    return settings.venv / '.climate-osl-installed'


def installed_stamp(settings):
    try:
        return _stamp_file(settings).read_text().strip()
    except FileNotFoundError:
        return None


def ensure_installed(settings):
    """Install when needed; return ``(stamp, installed_now)``."""
    stamp = wanted_stamp(settings)
    if installed_stamp(settings) == stamp and (settings.venv / 'bin/nova-compute').exists():
        return stamp, False
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.log_dir / 'install.log'
    shutil.rmtree(settings.venv, ignore_errors=True)
    commands = [
        [settings.python, '-m', 'venv', str(settings.venv)],
        [settings.bin('python'), '-m', 'pip', 'install', '--disable-pip-version-check',
         '-c', str(CONSTRAINTS), '-r', str(REQUIREMENTS)],
    ]
    with open(log_path, 'w') as log:
        for command in commands:
            log.write(f'$ {" ".join(command)}\n')
            log.flush()
            try:
                subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True,
                               timeout=settings.install_timeout, stdin=subprocess.DEVNULL)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                raise InstallError(f'installing openstack-lite failed ({exc}); '
                                   f'see {log_path}') from exc
    _stamp_file(settings).write_text(stamp + '\n')
    return stamp, True


def freeze(settings):
    """The venv's ``pip freeze``, to refresh constraints.txt after a deliberate bump."""
    return subprocess.run([settings.bin('python'), '-m', 'pip', 'freeze'],
                          check=True, capture_output=True, text=True).stdout
