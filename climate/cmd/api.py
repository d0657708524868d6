"""``climate-api``: the REST API in the waitress HTTP server (``climate.api.server``) on
``[DEFAULT] host`` and ``port``, calling the manager over RPC."""

import sys

from oslo_log import log as logging

from climate.api import app
from climate.api import server
from climate.common import service
from climate.manager import rpcapi

LOG = logging.getLogger(__name__)


def main(argv=None):
    conf = service.prepare(sys.argv[1:] if argv is None else argv)
    host = server.listen_host(conf)
    httpd = server.make_server(app.build(conf, rpcapi.ManagerAPI(conf)), host, conf.port,
                               conf)
    LOG.info('climate-api listening on http://%s:%d', host, httpd.server_port)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
