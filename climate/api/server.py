"""The HTTP server of ``climate-api`` and ``climate-all-in-one``: waitress.

Why waitress: a maintained, pure-Python HTTP/1.1 server (the Pylons project's) whose
network side is one event loop that reads every request, headers and body, before a
worker thread sees it. So a client that sends half a request and stops holds no
thread: 300 such connections cost 300 idle sockets, not 300 threads (with a pool of
threads, a few slow clients would stall the API), and each is closed
``[api] client_socket_timeout`` seconds after its last byte. Workers are a bounded
pool (``[api] workers``); chunked request bodies are decoded; headers and bodies are
bounded before they are buffered; it runs inside the service's process, so
``climate-all-in-one`` keeps the manager beside it. (cheroot hands a connection to a
worker thread as soon as it has a byte to read, and gunicorn forks workers, which
would split the all-in-one's manager from its API.) Deployments may instead run
``climate.api.wsgi:application`` under uwsgi or mod_wsgi.

What the server answers itself is answered in Climate's JSON error shape, as every
error of the API: a bad request line (400), a request line too long (414), headers too
large (431), a body over the limit (413), an HTTP version other than 1.x (505), and a
request whose client stopped sending before its end (400 for a body shorter than its
Content-Length, 408 for unfinished headers), after which the connection is closed.
"""

import http
import json
import threading

from oslo_config import cfg
from oslo_log import log as logging
from waitress import channel
from waitress import parser
from waitress import server as waitress_server
from waitress import task
from waitress import utilities
from waitress import wasyncore

LOG = logging.getLogger(__name__)
NOAUTH_HOST = '127.0.0.1'
# Pending connections the kernel queues while the server is at its connection limit.
LISTEN_BACKLOG = 1024
# Seconds between two looks for connections idle past the timeout.
CLEANUP_INTERVAL = 1


def _error_body(code, message):
    # The shape of climate.api.errors.body (not imported: that module needs the
    # application's libraries, and this one runs below the application).
    try:
        name = http.HTTPStatus(code).name
    except ValueError:
        name = 'ERROR'
    return json.dumps({'error_code': code, 'error_message': message[:300],
                       'error_name': name}).encode('ascii')


class _VersionNotSupported(utilities.Error):
    code = 505
    reason = 'HTTP Version Not Supported'


class _RequestTimeout(utilities.Error):
    code = 408
    reason = 'Request Timeout'


class _URITooLong(utilities.Error):
    code = 414
    reason = 'URI Too Long'


_MESSAGES = {
    400: 'Bad request: {detail}.',
    413: 'The request body is larger than the server accepts.',
    414: 'The request line is longer than the server accepts.',
    431: 'The request line and headers are larger than the server accepts.',
    501: 'Not implemented: {detail}.',
    505: 'HTTP version not supported: use HTTP/1.1 (or HTTP/1.0).',
}


class _JSONErrorTask(task.ErrorTask):
    """An error the server answers itself, in Climate's error shape; the connection
    is closed after it (the request stream cannot be trusted any more)."""

    def execute(self):
        error = self.request.error
        template = _MESSAGES.get(error.code, '{detail}')
        detail = str(error.body or error.reason).rstrip('.')
        body = _error_body(error.code, template.format(detail=detail))
        self.status = f'{error.code} {error.reason}'
        self.response_headers.append(('Content-Type', 'application/json'))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _Parser(parser.HTTPRequestParser):
    """waitress's parser, refusing HTTP versions other than 1.0 and 1.1 (waitress
    would answer them as 1.0), and telling a request line too long (414) from headers
    too large (431)."""

    def received(self, data):
        in_header = self.body_rcv is None and not self.completed
        header = self.header_plus + data if in_header else b''
        consumed = super().received(data)
        if in_header and isinstance(self.error, utilities.RequestHeaderFieldsTooLarge) \
                and b'\n' not in header.lstrip():
            self.error = _URITooLong('')
        return consumed

    def parse_header(self, header_plus):
        super().parse_header(header_plus)
        if self.version not in ('1.0', '1.1'):
            self.error = _VersionNotSupported(self.version)
            self.completed = True


class _Channel(channel.HTTPChannel):
    parser_class = _Parser
    error_task_class = _JSONErrorTask


class _Server(waitress_server.TcpWSGIServer):
    channel_class = _Channel

    def maintenance(self, now):
        """Connections idle past the timeout are closed; one in the middle of a
        request is first answered (400 or 408) and closed after the answer.

        Runs in the event loop, as waitress's own; it uses the channel's fields as
        waitress 3.0 names them (``request``, ``requests``, ``requests_lock``), which
        ``tests/functional/api/test_http_framing.py`` exercises."""
        cutoff = now - self.adj.channel_timeout
        for conn in list(self.active_channels.values()):
            if conn.requests or conn.last_activity >= cutoff:
                continue
            with conn.requests_lock:
                partial = conn.request
                if partial is None or partial.completed or conn.will_close:
                    conn.will_close = True
                    continue
                if partial.headers_finished:
                    partial.error = utilities.BadRequest(
                        'the request body is shorter than its Content-Length (the '
                        'client stopped sending)')
                else:
                    partial.error = _RequestTimeout(
                        'The request was not received in full in time.')
                partial.completed = True
                conn.request = None
                conn.requests.append(partial)
                conn.last_activity = now
                self.add_task(conn)


def _access_log(app):
    """``app``, logging each request's client, method, path and status."""
    def logged(environ, start_response):
        def logging_start_response(status, headers, exc_info=None):
            LOG.info('%s "%s %s" %s', environ.get('REMOTE_ADDR'),
                     environ.get('REQUEST_METHOD'),
                     environ.get('PATH_INFO', '')[:200], status.split(' ', 1)[0])
            return start_response(status, headers, exc_info)
        return app(environ, logging_start_response)
    return logged


class Server:
    """``app`` served on ``host:port`` (port 0: any free port, see ``server_port``)."""

    def __init__(self, app, host, port, workers=16, timeout=30, connection_limit=1000,
                 max_header_size=16384, max_body_size=1048576):
        self._map = {}
        adjustments = waitress_server.Adjustments(
            host=host, port=port, threads=workers, channel_timeout=timeout,
            cleanup_interval=CLEANUP_INTERVAL, connection_limit=connection_limit,
            max_request_header_size=max_header_size,
            # waitress refuses a body of this size or more; the API's own limit
            # (a 413 naming it) is checked below it.
            max_request_body_size=max_body_size + 1,
            backlog=LISTEN_BACKLOG, ident='climate-api', expose_tracebacks=False)
        self._dispatcher = task.ThreadedTaskDispatcher()
        self._dispatcher.set_thread_count(workers)
        (sockinfo,) = adjustments.listen[:1]
        self.httpd = _Server(_access_log(app), self._map, dispatcher=self._dispatcher,
                             adj=adjustments, sockinfo=sockinfo)
        self.server_port = int(self.httpd.effective_port)
        self._stopped = threading.Event()
        self._done = threading.Event()

    def serve_forever(self):
        try:
            while not self._stopped.is_set():
                # poll(), not select(): no limit of 1024 file descriptors.
                wasyncore.loop(timeout=0.2, map=self._map, use_poll=True, count=1)
        finally:
            self._done.set()

    def shutdown(self):
        self._stopped.set()
        self._done.wait(5)

    def server_close(self):
        wasyncore.close_all(self._map)
        self._dispatcher.shutdown(timeout=5)


def make_server(app, host, port, conf=None):
    """A :class:`Server` bound to ``host:port``, sized by ``conf``'s ``[api]``
    options when given (defaults otherwise)."""
    if conf is None:
        return Server(app, host, port)
    options = conf.api
    return Server(app, host, port, workers=options.workers,
                  timeout=options.client_socket_timeout,
                  connection_limit=options.max_connections,
                  max_header_size=options.max_request_header_size,
                  max_body_size=options.max_request_body_size)


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
