"""Reserve a server for a window: the client-side seed flow of ``virtual:instance``.

In 2013 climate-nova's boot extension shelved a new server and created its lease inside
Nova; today's Nova has no API extensions, so the same happens here, on the client side,
with the user's own keystoneauth1 session:

* :func:`reserve_server` creates a lease holding an existing server
  (``POST /v1/leases`` with one ``virtual:instance`` reservation). Climate shelves the
  server until the lease starts, unshelves it at the start, and applies ``on_end`` at
  the end (``snapshot_and_delete`` unless told otherwise).
* :func:`create_and_reserve_server` boots a server through Nova (flavor, image,
  networks; ``networks='none'`` is allowed), waits until it is ACTIVE, then reserves it;
  if the boot or the reservation fails, it deletes the server it made.

Example::

    from keystoneauth1 import loading, session
    auth = loading.load_auth_from_argparse_arguments(args)   # or any auth plugin
    sess = session.Session(auth=auth)
    lease = reserve_server(sess, server_id, '2030-05-01 08:00', '2030-05-01 18:00',
                           on_end='shelve')
    made = create_and_reserve_server(sess, 'build-box', flavor_id, image_id,
                                     'now', '2030-05-02 18:00', networks='none')
    made.server.id, made.lease['id']

Dates are strings Climate accepts (``YYYY-MM-DD HH:MM`` in UTC, ``now``, RFC 3339
with an offset) or datetimes (naive ones are taken as UTC). ``flavor`` and ``image``
are ids. Errors are :class:`ClientError` subclasses carrying the API's
``error_message``.
"""

import dataclasses
import datetime

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from oslo_log import log as logging

from climate.client import nova as user_nova

LOG = logging.getLogger(__name__)
SERVICE_TYPE = 'reservation'
RESOURCE_TYPE = 'virtual:instance'


class ClientError(Exception):
    """A client-side flow failed; ``str()`` says why."""


class LeaseRequestFailed(ClientError):
    """Climate's API refused or failed the lease request."""

    def __init__(self, status_code, message):
        # The same shape as ClimateClientError's, so every command's error line reads
        # alike: "<error_message> (HTTP <status>)".
        super().__init__(f'{message} (HTTP {status_code})' if status_code else message)
        self.status_code = status_code
        self.message = message


class ServerBootFailed(ClientError):
    """Nova did not bring the new server to ACTIVE (it has been deleted)."""


@dataclasses.dataclass(frozen=True)
class ReservedServer:
    server: user_nova.Server    # as it was when the lease was created
    lease: dict             # the lease, as Climate's API returned it


def lease_api(session, *, endpoint_override=None, region_name=None,
              interface='public'):
    """A keystoneauth1 adapter for Climate's API (service type ``reservation``)."""
    return ks_adapter.Adapter(session, service_type=SERVICE_TYPE, interface=interface,
                              region_name=region_name,
                              endpoint_override=endpoint_override)


def reservation_request(server_id, on_end=None, before_end=None):
    """The ``virtual:instance`` item of a lease's ``reservations``."""
    reservation = {'resource_type': RESOURCE_TYPE, 'resource_id': server_id}
    if on_end is not None:
        reservation['on_end'] = on_end
    if before_end is not None:
        reservation['before_end'] = before_end
    return reservation


def reserve_server(session, server_id, start, end, *, lease_name=None, on_end=None,
                   before_end=None, before_end_date=None, api=None):
    """Create a lease holding the existing server ``server_id``; returns the lease.

    :param api: an adapter from :func:`lease_api` (default: found in the catalog).
    :raises LeaseRequestFailed: with the API's status and ``error_message``.
    """
    body = {'name': lease_name or f'server-{server_id}',
            'start_date': _date(start), 'end_date': _date(end),
            'reservations': [reservation_request(server_id, on_end, before_end)],
            'events': []}
    if before_end_date is not None:
        body['before_end_date'] = _date(before_end_date)
    return _create_lease(api or lease_api(session), body)


def create_and_reserve_server(session, name, flavor, image, start, end, *,
                              networks='none', availability_zone=None, metadata=None,
                              lease_name=None, on_end=None, before_end=None,
                              before_end_date=None, api=None, compute=None,
                              boot_timeout=600.0):
    """Boot a server, wait until it is ACTIVE, and reserve it; a :class:`ReservedServer`.

    The server is deleted if it does not become ACTIVE or if the reservation fails,
    and the error is raised.

    :param compute: Nova acting as the user (default:
        :class:`climate.client.nova.UserNovaDriver` on ``session``).
    :raises ServerBootFailed: the boot failed or timed out.
    :raises LeaseRequestFailed: Climate refused the lease.
    """
    compute = compute or user_nova.UserNovaDriver(session, wait_timeout=boot_timeout)
    try:
        server = compute.create_server(name, flavor, image, networks=networks,
                                       availability_zone=availability_zone,
                                       metadata=metadata)
    except user_nova.NoNovaEndpoint as error:
        raise ServerBootFailed(f'Cannot boot {name!r}: {error.message}') from error
    except user_nova.NovaError as error:
        raise ServerBootFailed(f'Nova refused to boot {name!r}: {error.message}') \
            from error
    try:
        server = compute.wait_for_server(server.id, user_nova.ACTIVE,
                                         timeout=boot_timeout)
    except user_nova.NovaError as error:
        _delete_quietly(compute, server.id)
        raise ServerBootFailed(f'Server {server.id} ({name!r}) did not become ACTIVE '
                               f'and was deleted: {error.message}') from error
    try:
        lease = reserve_server(session, server.id, start, end,
                               lease_name=lease_name or name, on_end=on_end,
                               before_end=before_end, before_end_date=before_end_date,
                               api=api)
    except BaseException:
        _delete_quietly(compute, server.id)
        raise
    return ReservedServer(server=server, lease=lease)


# Helpers ------------------------------------------------------------------------------
def _date(value):
    """A date as Climate's API takes it; datetimes in UTC, naive ones taken as UTC."""
    if not isinstance(value, datetime.datetime):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    if value.second == 0 and value.microsecond == 0:
        return value.strftime('%Y-%m-%d %H:%M')        # Blazar's format
    return value.isoformat(timespec='seconds') + 'Z'  # RFC 3339, Climate only


def _leases_url(api):
    """``…/v1/leases`` whether the catalog endpoint ends in ``/v1`` (as Blazar's
    does) or is the service root."""
    try:
        endpoint = api.get_endpoint()
    except ks_exc.ClientException as error:
        raise LeaseRequestFailed(None, f'Cannot find Climate\'s API (service type '
                                       f'{SERVICE_TYPE}): {error}') from error
    if not endpoint:
        raise LeaseRequestFailed(None, f'No {SERVICE_TYPE} endpoint in the catalog')
    endpoint = endpoint.rstrip('/')
    return f'{endpoint}/leases' if endpoint.endswith('/v1') else f'{endpoint}/v1/leases'


def _create_lease(api, body):
    url = _leases_url(api)
    try:
        response = api.post(url, json=body, raise_exc=False,
                            headers={'Accept': 'application/json'})
    except ks_exc.ClientException as error:
        raise LeaseRequestFailed(None, f'Cannot reach Climate\'s API: {error}') \
            from error
    if response.status_code >= 400:
        raise LeaseRequestFailed(response.status_code, _error_message(response))
    try:
        return response.json()['lease']
    except (ValueError, KeyError, TypeError):
        raise LeaseRequestFailed(response.status_code,
                                 f'unexpected answer: {response.text[:200]!r}') from None


def _error_message(response):
    """The ``error_message`` of an error body (Blazar's shapes), else the raw text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason
    if isinstance(body, dict):
        if isinstance(body.get('error_message'), str):
            return body['error_message']
        error = body.get('error')
        if isinstance(error, dict) and error.get('message'):
            return error['message']
    return response.text.strip()


def _delete_quietly(compute, server_id):
    try:
        compute.delete_server(server_id)
    except user_nova.NovaError:
        LOG.exception('Could not delete server %s after a failed reservation; delete '
                      'it yourself', server_id)
