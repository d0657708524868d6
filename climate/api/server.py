"""A small threaded HTTP server for the API (``climate-api``, ``climate-all-in-one``,
tests). Production deployments may use any WSGI server with
``climate.api.wsgi:application`` instead."""

import socket
import socketserver
from wsgiref import simple_server

from oslo_config import cfg
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
NOAUTH_HOST = '127.0.0.1'


class _Handler(simple_server.WSGIRequestHandler):

    def address_string(self):
        return self.client_address[0]

    def log_message(self, fmt, *args):
        LOG.info('%s %s', self.address_string(), fmt % args)


class ThreadedWSGIServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _ThreadedWSGIServer6(ThreadedWSGIServer):
    address_family = socket.AF_INET6


def make_server(app, host, port):
    """A server bound to ``host:port`` (port 0: any free port; see ``server_port``)."""
    cls = _ThreadedWSGIServer6 if ':' in host else ThreadedWSGIServer
    server = simple_server.make_server(host, port, app, server_class=cls,
                                       handler_class=_Handler)
    return server


def listen_host(conf):
    """``[DEFAULT] host``, except that noauth listens on 127.0.0.1 unless the
    option was set explicitly."""
    host = conf.host
    if conf.auth_strategy == 'noauth':
        location = conf.get_location('host')
        if location is None or location.location == cfg.Locations.opt_default:
            host = NOAUTH_HOST
            LOG.warning('auth_strategy = noauth: listening on %s only (set [DEFAULT] '
                        'host to listen elsewhere)', host)
    return host
