"""Command-line clients run many times in one process: ``climate``, ``blazar`` and
``openstack``.

Each command is otherwise a new Python process that imports the whole client (OSC
loads every plugin's entry points): 1–5 s of CPU a command on this machine, most of
the CLI tests' time. ``ShellRunner`` starts one process that imports a client once
and runs each command line through the function its console script calls
(``climate.cli.shell.main``, ``blazarclient.shell.main``,
``openstackclient.shell.main``), with the command's own stdout and stderr captured.
The CLI tests still run each executable as a process of its own at least once, so
the installed console scripts are covered too.
"""

import json
import subprocess
import sys

# Runs in the child: JSON lines in ({"tool", "args"}), JSON lines out
# ({"rc", "stdout", "stderr"}) on the stdout the child started with.
_DRIVER = r'''
import contextlib, importlib, io, json, sys
modules = {'blazar': 'blazarclient.shell', 'openstack': 'openstackclient.shell',
           'climate': 'climate.cli.shell'}
answer = sys.stdout
for line in sys.stdin:
    request = json.loads(line)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main = importlib.import_module(modules[request['tool']]).main
            rc = main(request['args'])
        except SystemExit as exit:
            rc = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
    answer.write(json.dumps({'rc': rc or 0, 'stdout': out.getvalue(),
                             'stderr': err.getvalue()}) + '\n')
    answer.flush()
'''


class ShellRunner:
    """One long-lived process running ``climate``, ``blazar`` and ``openstack``
    command lines, one at a time."""

    def __init__(self, env, cwd=None):
        self.process = subprocess.Popen(
            [sys.executable, '-c', _DRIVER], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            cwd=cwd)

    def run(self, tool, *args):
        """(exit status, stdout, stderr) of one command line."""
        self.process.stdin.write(json.dumps({'tool': tool, 'args': list(args)}) + '\n')
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f'the client shell process died: '
                               f'{self.process.stderr.read()[-3000:]}')
        result = json.loads(line)
        return result['rc'], result['stdout'], result['stderr']

    def close(self):
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
