"""Nova with the user's own keystoneauth1 session, for the client-side flows.

``UserNovaDriver`` makes the few calls ``climate.client.servers`` needs directly on
python-novaclient, as the user (so the servers it boots are theirs): boot a server with
a flavor, an image and networks, wait until it is ACTIVE (or ERROR) within a timeout,
delete it and optionally wait until it is gone. It answers with :class:`Server` and
raises only :class:`NovaError` (``NovaTimeout`` for deadlines), whatever novaclient or
keystoneauth1 raised. It is independent of Climate's server side: the manager's Nova
driver acts with Climate's service account, this one with the user's session.

Compute microversion 2.87 is pinned, as the manager's driver pins it (2.37 is the
oldest that takes the ``networks='none'`` / ``'auto'`` the flows allow).

A session without a service catalog (``--os-auth-type none``: every service is the
one ``--os-endpoint``) cannot find Nova; unless ``endpoint_override`` names it, the
calls fail with ``NoNovaEndpoint`` saying so rather than sending Nova's requests to
Climate's API.
"""

import contextlib
import dataclasses
import time

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import plugin as ks_plugin
from novaclient import api_versions
from novaclient import client as nova_client
from novaclient import exceptions as nova_exc

API_VERSION = '2.87'
ACTIVE = 'ACTIVE'
ERROR = 'ERROR'


class NovaError(Exception):
    """A Nova call failed; ``message`` says why, ``status_code`` is Nova's answer."""

    def __init__(self, message, status_code=None, retryable=False):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retryable = retryable


class NovaTimeout(NovaError):
    """Nova did not answer in time, or a server did not reach a status in time."""

    def __init__(self, message):
        super().__init__(message, retryable=True)


class NoNovaEndpoint(NovaError):
    """The session cannot tell where Nova is."""


class ServerGone(NovaError):
    """The server does not exist (any more)."""

    def __init__(self, message):
        super().__init__(message, status_code=404)


@dataclasses.dataclass(frozen=True)
class Server:
    """A server as Nova showed it to the user."""
    id: str
    name: str
    status: str
    project_id: str | None = None
    user_id: str | None = None
    metadata: dict = dataclasses.field(default_factory=dict)
    task_state: str | None = None
    fault: str | None = None        # Nova's fault message when status is ERROR


class UserNovaDriver:
    """Nova as the user of ``session`` (a keystoneauth1 session)."""

    def __init__(self, session, *, region_name=None, interface='public',
                 endpoint_override=None, wait_timeout=600.0, poll_interval=2.0):
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self._sleep = time.sleep
        self._clock = time.monotonic
        self._no_catalog = endpoint_override is None and isinstance(
            session.auth, ks_plugin.FixedEndpointPlugin)
        self._nova = nova_client.Client(
            api_versions.APIVersion(API_VERSION), session=session,
            region_name=region_name, endpoint_type=interface,
            endpoint_override=endpoint_override)

    def create_server(self, name, flavor, image, *, networks='none',
                      availability_zone=None, metadata=None, scheduler_hints=None):
        """Boot a server (BUILD, then ACTIVE or ERROR); ``flavor`` and ``image`` are
        ids, ``networks`` is 'none', 'auto' or a list of ``{"uuid"|"port"|…: …}``."""
        if not isinstance(networks, str):
            networks = [_nic(network) for network in networks]
        with self._translated():
            created = self._nova.servers.create(
                name, image, flavor, meta=metadata,
                availability_zone=availability_zone, nics=networks,
                scheduler_hints=scheduler_hints)
        return self.get_server(created.id)

    def get_server(self, server_id):
        """:raises ServerGone:"""
        with self._translated(not_found=ServerGone):
            return _server(self._nova.servers.get(server_id).to_dict())

    def wait_for_server(self, server_id, status=ACTIVE, timeout=None):
        """Poll until the server has ``status`` and no task in progress; the Server.

        :raises NovaError: the server went to ERROR instead (not retryable), or is gone.
        :raises NovaTimeout:
        """
        def check():
            server = self.get_server(server_id)
            if server.task_state is not None:
                return None
            if server.status == status:
                return server
            if server.status == ERROR:
                raise NovaError(f'Server {server_id} went to ERROR instead of {status}: '
                                f'{server.fault or "no fault recorded"}')
            return None
        return self._poll(check, timeout, f'server {server_id} to reach {status}')

    def delete_server(self, server_id, wait=False, timeout=None):
        """Delete the server; no error if it is already gone. With ``wait``, return
        once Nova no longer shows it.

        :raises NovaError: the deletion failed (the server went to ERROR).
        :raises NovaTimeout:
        """
        with self._translated():
            try:
                self._nova.servers.delete(server_id)
            except nova_exc.NotFound:
                return
        if not wait:
            return

        def check():
            try:
                server = self.get_server(server_id)
            except ServerGone:
                return True
            if server.status == ERROR and server.task_state is None:
                raise NovaError(f'Deleting server {server_id} failed: '
                                f'{server.fault or "no fault recorded"}', retryable=True)
            return None
        self._poll(check, timeout, f'server {server_id} to be deleted')

    def _poll(self, check, timeout, what):
        timeout = self.wait_timeout if timeout is None else timeout
        deadline = self._clock() + timeout
        last_error = None
        while True:
            try:
                result = check()
            except NovaError as error:
                if not error.retryable:
                    raise
                last_error = error
            else:
                if result is not None:
                    return result
            remaining = deadline - self._clock()
            if remaining <= 0:
                detail = f' (last error: {last_error.message})' if last_error else ''
                raise NovaTimeout(f'Timed out after {timeout:g} s waiting for {what}'
                                  f'{detail}')
            self._sleep(min(self.poll_interval, remaining))

    @contextlib.contextmanager
    def _translated(self, not_found=None):
        """Turn novaclient and keystoneauth1 errors into :class:`NovaError`."""
        if self._no_catalog:
            raise NoNovaEndpoint(
                'no Nova endpoint: the session has no service catalog (as with '
                '--os-auth-type none, where every service is --os-endpoint); '
                'authenticate with Keystone')
        try:
            yield
        except nova_exc.ClientException as error:
            raise _http_error(error.code, f'Nova: {error}', not_found) from error
        except ks_exc.ConnectTimeout as error:
            raise NovaTimeout(f'Nova did not answer in time: {error}') from error
        except ks_exc.ConnectionError as error:
            raise NovaError(f'Cannot reach Nova or Keystone: {error}',
                            retryable=True) from error
        except ks_exc.HttpError as error:
            raise _http_error(error.http_status, f'{error}', not_found) from error
        except ks_exc.ClientException as error:
            raise NovaError(f'Cannot use Nova: {error}',
                            retryable=_caused_by_outage(error)) from error


def _http_error(code, message, not_found):
    if code == 404 and not_found is not None:
        return not_found(message)
    retryable = code in (408, 429) or (code >= 500 and code != 501)
    return NovaError(message, status_code=code, retryable=retryable)


def _caused_by_outage(error):
    """Whether a failed discovery (or the like) came from Keystone or Nova being down."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, (ks_exc.ConnectionError, ks_exc.HttpServerError)):
            return True
        error = error.__cause__ or error.__context__
    return False


def _nic(network):
    """Nova's ``networks`` item ({"uuid"|"port"|"fixed_ip"}) as novaclient's nics item."""
    names = {'uuid': 'net-id', 'port': 'port-id', 'fixed_ip': 'v4-fixed-ip', 'tag': 'tag'}
    return {names.get(key, key): value for key, value in network.items()}


def _server(data):
    return Server(id=data['id'], name=data.get('name', ''), status=data.get('status'),
                  project_id=data.get('tenant_id'), user_id=data.get('user_id'),
                  metadata=dict(data.get('metadata') or {}),
                  task_state=data.get('OS-EXT-STS:task_state'),
                  fault=(data.get('fault') or {}).get('message'))
