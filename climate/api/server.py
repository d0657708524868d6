"""The HTTP server of ``climate-api`` and ``climate-all-in-one``: cheroot's WSGI server.

Why cheroot: a pure-Python, maintained (CherryPy's) HTTP/1.1 server with a bounded
thread pool, a read timeout on every connection (a client that stops sending, in the
request line, the headers or the body, is cut off), chunked request bodies decoded
for the application, a cap on idle kept-alive connections and on the header size; it
runs in the service's own process, so ``climate-all-in-one`` keeps the manager beside
it. (waitress would do as well; gunicorn forks workers, which would split the
all-in-one's manager from its API.) Deployments may instead run
``climate.api.wsgi:application`` under uwsgi or mod_wsgi.

What the server answers itself (a bad request line, headers too large, a wrong HTTP
version...) is answered in Climate's JSON error shape, as every error of the API.
"""

import http
import json

from cheroot import server as cheroot_server
from cheroot import wsgi
from oslo_config import cfg
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
NOAUTH_HOST = '127.0.0.1'
# Pending connections the kernel queues while every worker is busy.
LISTEN_BACKLOG = 128


def _error_body(code, message):
    # The shape of climate.api.errors.body (not imported: that module needs webob
    # and oslo.messaging, and this one runs below the application).
    try:
        name = http.HTTPStatus(code).name
    except ValueError:
        name = 'ERROR'
    return json.dumps({'error_code': code, 'error_message': message[:300],
                       'error_name': name}).encode('ascii')


class _JSONErrorRequest(cheroot_server.HTTPRequest):
    """cheroot's request, with the errors the server answers itself as JSON and the
    connection closed after each of them (the stream's framing is not trusted any
    more), and ``Connection: close`` from the application honoured."""

    def simple_response(self, status, msg=''):
        status = str(status)
        code = int(status[:3])
        phrase = status[4:] or http.HTTPStatus(code).phrase
        if code == 413 and 'header' in (msg or '').lower():
            code, phrase = 431, 'Request Header Fields Too Large'
            msg = 'The request headers are larger than the server accepts.'
        elif code == 505:
            msg = 'HTTP version not supported: use HTTP/1.1 (or HTTP/1.0).'
        elif code == 408:
            msg = 'The client sent nothing for too long; closing the connection.'
        if code < 400:  # cheroot answers nothing below 400 this way; keep it so
            return super().simple_response(status, msg)
        if isinstance(msg, bytes):
            msg = msg.decode('latin-1')
        body = _error_body(code, msg or phrase)
        self.close_connection = True
        protocol = self.server.protocol
        head = (f'{protocol} {code} {phrase}\r\nContent-Type: application/json\r\n'
                f'Content-Length: {len(body)}\r\nConnection: close\r\n\r\n')
        try:
            self.conn.wfile.write(head.encode('latin-1') + body)
        except OSError:
            pass

    def send_headers(self):
        for key, value in self.outheaders:
            if key.lower() == b'connection' and value.lower() == b'close':
                self.close_connection = True
        return super().send_headers()


class _Connection(cheroot_server.HTTPConnection):
    RequestHandlerClass = _JSONErrorRequest


class Server:
    """``app`` served on ``host:port`` (port 0: any free port, see ``server_port``)."""

    def __init__(self, app, host, port, workers=16, timeout=30, keepalive=64,
                 max_header_size=16384):
        self.httpd = wsgi.Server((host, port), app, numthreads=workers,
                                 server_name='climate-api',
                                 request_queue_size=LISTEN_BACKLOG, timeout=timeout,
                                 shutdown_timeout=5)
        self.httpd.ConnectionClass = _Connection
        self.httpd.keep_alive_conn_limit = keepalive
        self.httpd.max_request_header_size = max_header_size
        self.httpd.prepare()  # binds now, so that server_port is known
        self.server_port = self.httpd.bind_addr[1]

    def serve_forever(self):
        self.httpd.serve()

    def shutdown(self):
        self.httpd.stop()

    def server_close(self):
        pass  # stop() closed the socket


def make_server(app, host, port, conf=None):
    """A :class:`Server` bound to ``host:port``, sized by ``conf``'s ``[api]``
    options when given (defaults otherwise)."""
    if conf is None:
        return Server(app, host, port)
    options = conf.api
    return Server(app, host, port, workers=options.workers,
                  timeout=options.client_socket_timeout,
                  keepalive=options.max_keepalive_connections,
                  max_header_size=options.max_request_header_size)


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
