"""python-blazarclient's and OpenStackClient's shells run many times in one process.

Each ``blazar``/``openstack`` command is a new Python process that imports the whole
client (OSC loads every plugin's entry points): 2–5 s of CPU a command on this
machine, most of the client tests' time. ``ShellRunner`` starts one process that
imports both clients once and runs each command line through the same function the
console scripts call (``blazarclient.shell.main``, ``openstackclient.shell.main``),
with its own stdout and stderr captured. The tests still run one real console script
of each client as a new process (``test_clients.py``), so the executables are
covered too.
"""

import json
import subprocess
import sys

# Runs in the child: JSON lines in ({"tool", "args"}), JSON lines out
# ({"rc", "stdout", "stderr"}) on the stdout the child started with.
_DRIVER = r'''
import contextlib, io, json, sys
from blazarclient import shell as blazar
from openstackclient import shell as openstack
mains = {'blazar': blazar.main, 'openstack': openstack.main}
answer = sys.stdout
for line in sys.stdin:
    request = json.loads(line)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = mains[request['tool']](request['args'])
        except SystemExit as exit:
            rc = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
    answer.write(json.dumps({'rc': rc or 0, 'stdout': out.getvalue(),
                             'stderr': err.getvalue()}) + '\n')
    answer.flush()
'''


class ShellRunner:
    """One long-lived process running ``blazar …`` and ``openstack …`` commands."""

    def __init__(self, env):
        self.process = subprocess.Popen(
            [sys.executable, '-c', _DRIVER], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

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
