"""No start of a Climate command loads eventlet or prints its deprecation warning.

oslo.service installs eventlet beside Climate and futurist imports it when it can;
:mod:`climate.common.no_eventlet` hides it from Climate's processes. Each console
command is started for real (``--help``, and ``climate-all-in-one`` until it answers),
with every warning shown.
"""

import os
import subprocess
import sys

import pytest

from tests.functional.api.all_in_one import AllInOne

BINDIR = os.path.dirname(sys.executable)
WARNING = 'EventletDeprecationWarning'
COMMANDS = ['climate-api', 'climate-manager', 'climate-all-in-one', 'climate-db-manage',
            'climate-status', 'climate']


def _environ():
    # "default" shows each warning once, whatever an outer PYTHONWARNINGS says.
    return dict(os.environ, PYTHONWARNINGS='default')


@pytest.mark.parametrize('command', COMMANDS)
def test_command_help_prints_no_eventlet_warning(command):
    result = subprocess.run([os.path.join(BINDIR, command), '--help'],
                            capture_output=True, text=True, env=_environ(), timeout=120)
    assert result.returncode == 0, result.stderr
    assert WARNING not in result.stderr


def test_wsgi_application_does_not_load_eventlet():
    # What uwsgi and the other WSGI servers load, built as on the first request.
    code = ('import sys\n'
            'from climate.api import wsgi\n'
            'wsgi.init_application(files=[])\n'
            'assert sys.modules["eventlet"] is None, sys.modules["eventlet"]\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            env=_environ(), timeout=120)
    assert result.returncode == 0, result.stderr
    assert WARNING not in result.stderr


def test_all_in_one_serving_prints_no_eventlet_warning(tmp_path):
    process = AllInOne(tmp_path)
    process.env['PYTHONWARNINGS'] = 'default'
    try:
        process.start()
    finally:
        process.stop()
    assert WARNING not in process.output()
