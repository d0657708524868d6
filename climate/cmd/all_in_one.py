"""``climate-all-in-one``: the API and the manager in one process, for the quickstart.

The manager is wired as ``climate-manager``'s (``climate.manager.server.Manager``) but
without an RPC server: the API's ``ManagerAPI`` calls its endpoint directly, with the
same semantics as over RPC, and the event engine runs in the same process. Use it with
SQLite and ``[compute] driver = memory`` to try Climate with nothing else installed;
then a small simulated Nova API (``climate.compute.memory.nova_api``) is served under
``/compute/v2.1`` too, so that the ``climate`` CLI can boot simulated servers.
"""

import signal
import sys
import threading

from oslo_log import log as logging

from climate.api import app
from climate.api import server
from climate.common import service
from climate.compute.memory import driver as memory_driver
from climate.compute.memory import nova_api
from climate.manager import server as manager_server

LOG = logging.getLogger(__name__)


def main(argv=None):
    conf = service.prepare(sys.argv[1:] if argv is None else argv)
    manager = manager_server.Manager(conf, serve_rpc=False)
    host = server.listen_host(conf)
    httpd = server.make_server(_with_simulated_nova(app.build(conf, manager.api),
                                                    manager), host, conf.port, conf)
    manager.start()
    thread = threading.Thread(target=httpd.serve_forever, name='climate-api',
                              daemon=True)
    thread.start()
    LOG.info('climate-all-in-one: API on http://%s:%d/v1, plugins: %s', host,
             httpd.server_port, ', '.join(sorted(manager.plugins)) or 'none')
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    LOG.info('climate-all-in-one: stopping')
    httpd.shutdown()
    httpd.server_close()
    manager.stop()
    return 0


def _with_simulated_nova(application, manager):
    """``application``, and the simulated Nova API under its prefix when the plugins
    share the in-memory compute driver."""
    drivers = {id(d): d for d in (getattr(p, 'compute', None) if getattr(
        p, 'uses_compute', False) else None for p in manager.plugins.values())
        if isinstance(d, memory_driver.MemoryDriver)}
    if len(drivers) != 1:
        return application
    nova = nova_api.SimulatedNovaApp(next(iter(drivers.values())))

    def dispatch(environ, start_response):
        if environ.get('PATH_INFO', '').startswith(nova_api.PREFIX):
            return nova(environ, start_response)
        return application(environ, start_response)
    return dispatch


if __name__ == '__main__':
    sys.exit(main())
