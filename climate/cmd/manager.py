"""``climate-manager``: the lease manager (RPC server and event engine)."""

import signal
import sys
import threading

from climate.common import service
from climate.manager import server


def main(argv=None):
    conf = service.prepare(sys.argv[1:] if argv is None else argv)
    manager = server.Manager(conf, serve_rpc=True)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    manager.start()
    stopped.wait()
    manager.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
