"""Drive the environment by hand from Climate's venv (the tests do it themselves):

    .venv/bin/python -m tests.integration.openstack_lite start   # stays up; prints OS_* vars
    .venv/bin/python -m tests.integration.openstack_lite stop
    .venv/bin/python -m tests.integration.openstack_lite reset   # drop databases and state
    .venv/bin/python -m tests.integration.openstack_lite install | freeze | status
"""

import argparse
import json
import shutil
import sys

from tests.integration.openstack_lite import bootstrap
from tests.integration.openstack_lite import environment
from tests.integration.openstack_lite import installer
from tests.integration.openstack_lite import settings as settings_mod


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m tests.integration.openstack_lite')
    parser.add_argument('command', choices=['install', 'start', 'stop', 'reset', 'status',
                                            'freeze'])
    args = parser.parse_args(argv)
    settings = settings_mod.Settings.from_env()
    env = environment.Environment(settings)
    if args.command == 'install':
        stamp, fresh = installer.ensure_installed(settings)
        print(f'{"installed" if fresh else "already installed"}: {settings.venv}')
    elif args.command == 'freeze':
        sys.stdout.write('# Exact versions of everything in the openstack-lite venv (pip freeze '
                         'of an install\n# of requirements.txt on Python 3.11). Regenerate: '
                         'python -m tests.integration.openstack_lite freeze\n')
        sys.stdout.write(installer.freeze(settings))
    elif args.command == 'start':
        osl = env.start()
        print(json.dumps({'timings': osl.timings, 'notes': env.notes,
                          'stale_removed': osl.stale_removed}, indent=1))
        for key, value in osl.admin.env().items():
            print(f'export {key}={value}')
    elif args.command == 'stop':
        print('stopped:', ', '.join(env.stop()) or 'nothing')
    elif args.command == 'reset':
        print('stopped:', ', '.join(env.stop()) or 'nothing')
        bootstrap.wipe_state(settings)
        bootstrap.drop_databases(settings)
        for path in (settings.etc, settings.log_dir, settings.run_dir):
            shutil.rmtree(path, ignore_errors=True)
        print(f'reset {settings.home} (venv kept) and dropped {settings.db_prefix}*')
    elif args.command == 'status':
        running = env.procs.running()
        for pid_file in sorted(settings.run_dir.glob('*.pid')):
            pid = running.get(pid_file.stem)
            print(f'{pid_file.stem:24} {pid or "-":>8} {"running" if pid else "gone"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
