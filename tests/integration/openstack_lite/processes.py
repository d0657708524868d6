"""Start and stop the environment's processes, and only those.

Every service runs in its own session (process group) with its output in
``log/<name>.log``. ``run/<name>.pid`` records its pid and kernel start time, so a
later run (after a crash, say) stops exactly that process group and never a process
that merely got a recycled pid. Each process also carries ``CLIMATE_OSL_OWNER=<home>``
in its environment, which finds strays whose pid file was lost (Nova's services hide
it: setproctitle overwrites what /proc shows of their environment).
"""

import os
import pathlib
import signal
import socket
import subprocess
import time

OWNER_VAR = 'CLIMATE_OSL_OWNER'


def tail(path, lines=40):
    """The last ``lines`` lines of a log file (or a note that it is missing)."""
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode('utf-8', 'replace')
    except FileNotFoundError:
        return f'({path} does not exist)'
    return '\n'.join(text.splitlines()[-lines:])


def port_open(port, host='127.0.0.1'):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours is dead for our purposes.
    try:
        stat = pathlib.Path(f'/proc/{pid}/stat').read_text()
        return stat.rsplit(')', 1)[1].split()[0] != 'Z'
    except (FileNotFoundError, IndexError):
        return False


def _start_time(pid):
    """The kernel's start time of ``pid`` (clock ticks since boot), or None."""
    try:
        stat = pathlib.Path(f'/proc/{pid}/stat').read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(')', 1)[1].split()[19]


def _owned_by(pid, owner):
    """Whether ``pid``'s environment carries our marker.

    oslo.service's setproctitle overwrites what /proc shows of a Nova service's
    environment, so the pid files (with start times) are what finds those.
    """
    try:
        environ = pathlib.Path(f'/proc/{pid}/environ').read_bytes().split(b'\0')
    except (FileNotFoundError, PermissionError, ProcessLookupError):
        return False
    return f'{OWNER_VAR}={owner}'.encode() in environ


def _owned_pids(owner):
    pids = []
    for entry in pathlib.Path('/proc').iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            if _owned_by(int(entry.name), owner):
                pids.append(int(entry.name))
    return pids


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # Only zombies left (our own children not yet reaped) count as gone.
    for entry in pathlib.Path('/proc').iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / 'stat').read_text().rsplit(')', 1)[1].split()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if int(fields[2]) == pgid and fields[0] != 'Z':
                return True
    return False


class ProcessManager:
    """Launches named services under ``home`` and stops them by process group."""

    def __init__(self, home, log_dir, run_dir):
        self.owner = str(home)
        self.log_dir = pathlib.Path(log_dir)
        self.run_dir = pathlib.Path(run_dir)
        self.children = {}  # name -> Popen, for processes started by this object
        self.specs = {}     # name -> (argv, env) it was launched with, to relaunch it

    def log_path(self, name):
        return self.log_dir / f'{name}.log'

    def launch(self, name, argv, env=None):
        self.specs[name] = (list(argv), env)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        full_env = dict(os.environ if env is None else env)
        full_env[OWNER_VAR] = self.owner
        with open(self.log_path(name), 'ab') as log:
            log.write(f'==== {time.strftime("%Y-%m-%d %H:%M:%S")} starting: '
                      f'{" ".join(argv)}\n'.encode())
            log.flush()
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=full_env,
                                    start_new_session=True)
        (self.run_dir / f'{name}.pid').write_text(f'{proc.pid} {_start_time(proc.pid)}\n')
        self.children[name] = proc
        return proc

    def dead(self):
        """Names of services started here that have exited."""
        return [name for name, proc in self.children.items() if proc.poll() is not None]

    def _recorded(self):
        """``(pid file, pid)`` of each recorded service; pid None unless it still runs."""
        for pid_file in sorted(self.run_dir.glob('*.pid')):
            try:
                pid, started = pid_file.read_text().split()
                pid = int(pid)
            except ValueError:
                yield pid_file, None
                continue
            # Same pid and same start time: our process, not a recycled pid.
            yield pid_file, (pid if _alive(pid) and _start_time(pid) == started else None)

    def running(self):
        """``{name: pid}`` of recorded services that still run."""
        return {pid_file.stem: pid for pid_file, pid in self._recorded() if pid}

    def relaunch(self, name):
        """Start ``name`` again as it was launched last (after ``stop([name])``)."""
        argv, env = self.specs[name]
        return self.launch(name, argv, env)

    def stop(self, names=None, grace=5.0):
        """Stop the recorded services ``names`` (default: every one, and any stray
        process with our marker).

        Returns the names (or pids) of what had to be stopped.
        """
        groups = {}
        for pid_file, pid in self._recorded():
            if pid and (names is None or pid_file.stem in names):
                groups[pid] = pid_file.stem
        for pid in (_owned_pids(self.owner) if names is None else ()):
            try:
                groups.setdefault(os.getpgid(pid), f'pid {pid}')
            except ProcessLookupError:
                pass
        for pgid in groups:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            for proc in self.children.values():
                proc.poll()  # reap our own children so they do not linger as zombies
            if not any(_group_alive(pgid) for pgid in groups):
                break
            time.sleep(0.1)
        for pgid in groups:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in (_owned_pids(self.owner) if names is None else ()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for name, proc in list(self.children.items()):
            if names is None or name in names:
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                del self.children[name]
        for pid_file, _ in self._recorded():
            if names is None or pid_file.stem in names:
                pid_file.unlink(missing_ok=True)
        return sorted(groups.values())


def memory_mib(pids):
    """``(RSS, PSS)`` in MiB of the given process groups, children included."""
    wanted, rss, pss = set(pids), 0, 0
    for entry in pathlib.Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            pgid = int((entry / 'stat').read_text().rsplit(')', 1)[1].split()[2])
            if pgid not in wanted:
                continue
            for line in (entry / 'smaps_rollup').read_text().splitlines():
                if line.startswith('Rss:'):
                    rss += int(line.split()[1])
                elif line.startswith('Pss:'):
                    pss += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
    return rss // 1024, pss // 1024
