"""The typed client: ``Client(session)`` with ``leases``, ``hosts``, ``allocations`` and
``properties`` managers over a keystoneauth Adapter for service type ``reservation``.

``leases.create`` sends an ``Idempotency-Key`` (a fresh uuid4 unless given) and
retries with the same key when the connection fails or the answer is 502/503/504, so
that a retried create never makes a second lease.

Every method returns plain dicts (or lists of dicts) as the API sends them and raises
:class:`~climate.client.exceptions.ClimateClientError` for any error response.
"""

import datetime
import logging
import re
import time
from urllib import parse
import uuid

from keystoneauth1 import adapter
from keystoneauth1 import exceptions as ks_exceptions

from climate.client import dates
from climate.client.exceptions import ClimateClientError

LOG = logging.getLogger(__name__)
SERVICE_TYPE = 'reservation'
API_VERSION = '1.0'
_ZERO = datetime.timedelta()
_UUID = re.compile(r'^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$',
                   re.IGNORECASE)


def _error_message(response):
    """The API's ``error_message`` (or the best text there is) of an error response."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason or f'HTTP {response.status_code}'
    if isinstance(body, dict):
        if body.get('error_message'):
            return str(body['error_message'])
        inner = body.get('error')
        if isinstance(inner, dict) and inner.get('message'):
            return str(inner['message'])
    return str(body)


class Client:
    """``Client(session, endpoint_override=None, interface=..., region_name=...)``.

    ``session`` is a ``keystoneauth1.session.Session``; ``endpoint_override`` the API's
    ``…/v1`` URL when it is not (or should not be) taken from the service catalog.
    """

    def __init__(self, session, endpoint_override=None, interface='public',
                 region_name=None, **adapter_kwargs):
        self.http = adapter.Adapter(
            session, service_type=SERVICE_TYPE, endpoint_override=endpoint_override,
            interface=interface, region_name=region_name, **adapter_kwargs)
        self.leases = LeaseManager(self)
        self.hosts = HostManager(self)
        self.allocations = AllocationManager(self)
        self.properties = PropertyManager(self)
        self.availability = AvailabilityManager(self)
        self.usage = UsageManager(self)

    #: Attempts of a request that is safe to repeat (a create with its key).
    RETRY_ATTEMPTS = 3
    #: Seconds before the first retry; doubled before each next one.
    RETRY_PAUSE = 0.5
    RETRY_STATUSES = (502, 503, 504)

    def request(self, method, path, body=None, params=None, headers=None,
                retry=False):
        """Send a request; the decoded JSON body (``None`` for 204) or an error.

        With ``retry`` (only for a request the server recognizes when repeated), a
        failed connection or a 502/503/504 is retried up to :attr:`RETRY_ATTEMPTS`
        times in all.
        """
        kwargs = {'raise_exc': False,
                  'headers': {'OpenStack-API-Version': f'reservation {API_VERSION}',
                              'Accept': 'application/json', **(headers or {})}}
        if body is not None:
            kwargs['json'] = body
        if params:
            kwargs['params'] = params
        attempts = self.RETRY_ATTEMPTS if retry else 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                response = self._send(method, path, kwargs, retrying=not last)
            except _Retry as why:
                pause = self.RETRY_PAUSE * 2 ** (attempt - 1)
                LOG.warning('%s %s: %s; retrying in %.1f s', method, path, why, pause)
                time.sleep(pause)
                continue
            return self._answer(response)

    def _send(self, method, path, kwargs, retrying):
        """One attempt; raises :class:`_Retry` when ``retrying`` and it may be
        repeated."""
        try:
            response = self.http.request(path, method, **kwargs)
        except ks_exceptions.EndpointNotFound as exc:
            raise ClimateClientError(
                f'No reservation endpoint: {exc} (give --os-endpoint or '
                '--os-reservation-endpoint-override, or register service type '
                f'{SERVICE_TYPE!r})') from exc
        except ks_exceptions.HttpError as exc:
            # The API's own answers do not raise (raise_exc=False): this is Keystone's.
            raise ClimateClientError(f'Authentication failed: {exc}',
                                     status=exc.http_status) from exc
        except ks_exceptions.ConnectionError as exc:
            # Refused, reset, dropped before the answer, timed out.
            if retrying:
                raise _Retry(f'connection failed ({exc})') from exc
            raise ClimateClientError(
                f'Cannot reach the reservation service: {exc}') from exc
        except ks_exceptions.ClientException as exc:
            raise ClimateClientError(
                f'Cannot reach the reservation service: {exc}') from exc
        if retrying and response.status_code in self.RETRY_STATUSES:
            raise _Retry(f'HTTP {response.status_code}')
        return response

    @staticmethod
    def _answer(response):
        if response.status_code >= 400:
            raise ClimateClientError(
                _error_message(response), status=response.status_code,
                request_id=response.headers.get('X-Openstack-Request-Id'))
        if response.status_code == 204 or not response.content:
            return None
        return response.json()


def _next_marker(links):
    """The ``marker`` of the ``next`` link of a page (Nova's ``<collection>_links``),
    or None on the last page."""
    for link in links or ():
        if link.get('rel') == 'next':
            query = parse.parse_qs(parse.urlsplit(link.get('href', '')).query)
            markers = query.get('marker')
            if markers:
                return markers[-1]
    return None


def pages(client, path, collection, params=None, limit=None):
    """Every item of a listing, following its ``next`` links (the server answers
    pages of at most its ``[api] max_limit`` items); at most ``limit`` items when
    given. The link's marker is sent to ``path`` through the client's own endpoint,
    not to the link's host."""
    params = dict(params or {})
    if limit is not None:
        params['limit'] = limit
    items, seen = [], set()
    while True:
        body = client.request('GET', path, params=params)
        items.extend(body[collection])
        if limit is not None and len(items) >= limit:
            return items[:limit]
        marker = _next_marker(body.get(f'{collection}_links'))
        if marker is None or marker in seen:
            return items
        seen.add(marker)
        params = dict(params, marker=marker)


class _Retry(Exception):
    """An attempt failed in a way that a retry may fix."""


class _Manager:
    """Shared name-or-id lookup over a collection."""

    name_key = 'name'
    kind = 'resource'

    def __init__(self, client):
        self.client = client

    def _looks_like_id(self, value):
        raise NotImplementedError

    def find(self, name_or_id):
        """The object with this id, or the only one with this name."""
        if self._looks_like_id(name_or_id):
            return self.get(name_or_id)
        matches = [item for item in self.list() if item.get(self.name_key) == name_or_id]
        if not matches:
            raise ClimateClientError(f"No {self.kind} with name or id '{name_or_id}'",
                                     status=404)
        if len(matches) > 1:
            raise ClimateClientError(
                f"{len(matches)} {self.kind}s are named '{name_or_id}': use the id",
                status=409)
        return matches[0]


class LeaseManager(_Manager):
    """``/v1/leases``."""

    kind = 'lease'

    def _looks_like_id(self, value):
        return bool(_UUID.match(value))

    def list(self, status=None, name=None, limit=None):
        """Leases (every page), only those with ``status`` or ``name`` when given,
        ``limit`` at most."""
        params = {key: value for key, value in (('status', status), ('name', name))
                  if value}
        return pages(self.client, '/leases', 'leases', params, limit)

    def get(self, lease_id):
        return self.client.request('GET', f'/leases/{lease_id}')['lease']

    def create(self, name, start, end, reservations, events=(), before_end=None,
               idempotency_key=None):
        """Create a lease; ``start``/``end`` as :func:`dates.to_api_date` takes them.

        Sent with ``idempotency_key`` (default: a new uuid4) and retried with it on
        connection failures and 502/503/504: the server answers a repeat with the
        lease the first attempt made.
        """
        body = {'name': name, 'start_date': dates.to_api_date(start),
                'end_date': dates.to_api_date(end), 'reservations': list(reservations),
                'events': list(events)}
        if before_end:
            body['before_end_date'] = dates.to_api_date(before_end)
        key = idempotency_key or str(uuid.uuid4())
        return self.client.request('POST', '/leases', body,
                                   headers={'Idempotency-Key': key},
                                   retry=True)['lease']

    def create_earliest(self, name, duration, reservations, start_after=None,
                        end_before=None, idempotency_key=None):
        """Create a lease in the earliest window of ``duration`` (a ``timedelta``)
        between ``start_after`` and ``end_before`` (server defaults: now, and 31
        days later) where its one reservation fits; retried as :meth:`create`."""
        spec = {'duration': _minutes(duration)}
        if start_after:
            spec['start_after'] = dates.to_api_date(start_after)
        if end_before:
            spec['end_before'] = dates.to_api_date(end_before)
        body = {'name': name, 'earliest': spec, 'reservations': list(reservations)}
        key = idempotency_key or str(uuid.uuid4())
        return self.client.request('POST', '/leases', body,
                                   headers={'Idempotency-Key': key},
                                   retry=True)['lease']

    def check(self, name, start, end, reservations, before_end=None):
        """Whether :meth:`create` with these values would be accepted now
        (``POST /v1/leases/check``): ``{"accepted": bool, ...}``; creates nothing."""
        body = {'name': name, 'start_date': dates.to_api_date(start),
                'end_date': dates.to_api_date(end), 'reservations': list(reservations)}
        if before_end:
            body['before_end_date'] = dates.to_api_date(before_end)
        return self.client.request('POST', '/leases/check', body)['check']

    def update(self, lease_id, name=None, start=None, end=None, prolong_for=None,
               reduce_by=None, defer_by=None, advance_by=None, reservations=None,
               before_end=None):
        """Change a lease; relative changes (``timedelta``) apply to its dates."""
        if start is not None and (defer_by or advance_by):
            raise ClimateClientError(
                'Give either a start date or --defer-by/--advance-by')
        if end is not None and (prolong_for or reduce_by):
            raise ClimateClientError(
                'Give either an end date or --prolong-for/--reduce-by')
        body = {}
        if name:
            body['name'] = name
        if start is not None:
            body['start_date'] = dates.to_api_date(start)
        if end is not None:
            body['end_date'] = dates.to_api_date(end)
        if before_end is not None:
            body['before_end_date'] = dates.to_api_date(before_end)
        if reservations:
            body['reservations'] = list(reservations)
        if any((prolong_for, reduce_by, defer_by, advance_by)):
            current = self.get(lease_id)
            if prolong_for or reduce_by:
                delta = (prolong_for or _ZERO) - (reduce_by or _ZERO)
                body['end_date'] = dates.shift(current['end_date'], delta)
            if defer_by or advance_by:
                delta = (defer_by or _ZERO) - (advance_by or _ZERO)
                body['start_date'] = dates.shift(current['start_date'], delta)
        if not body:
            raise ClimateClientError('Nothing to update: give at least one change')
        return self.client.request('PUT', f'/leases/{lease_id}', body)['lease']

    def delete(self, lease_id):
        self.client.request('DELETE', f'/leases/{lease_id}')


class HostManager(_Manager):
    """``/v1/os-hosts``: hosts are found by numeric id or hypervisor hostname."""

    kind = 'host'
    name_key = 'hypervisor_hostname'

    def _looks_like_id(self, value):
        return value.isdigit()

    def list(self):
        return pages(self.client, '/os-hosts', 'hosts')

    def get(self, host_id):
        return self.client.request('GET', f'/os-hosts/{host_id}')['host']

    def create(self, name, **extra_capabilities):
        body = dict(extra_capabilities, name=name)
        return self.client.request('POST', '/os-hosts', body)['host']

    def update(self, host_id, **extra_capabilities):
        return self.client.request('PUT', f'/os-hosts/{host_id}',
                                   extra_capabilities)['host']

    def delete(self, host_id):
        self.client.request('DELETE', f'/os-hosts/{host_id}')

    def reallocate(self, host_id, lease_id=None, reservation_id=None):
        """Move the host's allocations (of a lease or reservation, or all) to other
        hosts (``PUT /os-hosts/{id}/allocation``); the host's allocation after."""
        body = {key: value for key, value in (('lease_id', lease_id),
                                              ('reservation_id', reservation_id))
                if value}
        return self.client.request('PUT', f'/os-hosts/{host_id}/allocation',
                                   body)['allocation']

    def maintenances(self, host_id):
        return self.client.request(
            'GET', f'/os-hosts/{host_id}/maintenances')['maintenances']

    def add_maintenance(self, host_id, start, end, reason=None, force=False):
        body = {'start_date': start, 'end_date': end}
        if reason:
            body['reason'] = reason
        if force:
            body['force'] = True
        return self.client.request('POST', f'/os-hosts/{host_id}/maintenances',
                                   body)['maintenance']

    def delete_maintenance(self, host_id, maintenance_id):
        self.client.request('DELETE',
                            f'/os-hosts/{host_id}/maintenances/{maintenance_id}')


class AllocationManager(_Manager):
    """``/v1/os-hosts/allocations``: which reservations hold which hosts."""

    def list(self, lease_id=None, reservation_id=None):
        params = {key: value for key, value in
                  (('lease_id', lease_id), ('reservation_id', reservation_id)) if value}
        return pages(self.client, '/os-hosts/allocations', 'allocations', params)


class PropertyManager(_Manager):
    """``/v1/os-hosts/properties``: the extra-capability keys hosts carry."""

    def list(self, detail=False, all_properties=False):
        params = {}
        if detail:
            params['detail'] = 'True'
        if all_properties:
            params['all'] = 'True'
        return self.client.request('GET', '/os-hosts/properties',
                                   params=params)['resource_properties']

    def set(self, name, private):
        return self.client.request('PATCH', f'/os-hosts/properties/{name}',
                                   {'private': bool(private)})['resource_property']


def _minutes(duration):
    minutes = int(duration.total_seconds() // 60)
    if minutes < 1 or duration.total_seconds() % 60:
        raise ClimateClientError('The duration must be a whole number of minutes')
    return minutes


class AvailabilityManager:
    """``/v1/availability``: when a reservation would be accepted, what is busy."""

    def __init__(self, client):
        self.client = client

    def find(self, duration, start_after=None, end_before=None, limit=None,
             resource_type='physical:host', **fields):
        """The earliest windows of ``duration`` (a ``timedelta``) for a reservation
        of ``fields`` (``min``, ``max``, ``hypervisor_properties``,
        ``resource_properties``): the API's ``availability`` object."""
        params = {key: value for key, value in fields.items() if value not in (None, '')}
        params.update(resource_type=resource_type, duration=_minutes(duration))
        if start_after:
            params['start_after'] = dates.to_api_date(start_after)
        if end_before:
            params['end_before'] = dates.to_api_date(end_before)
        if limit:
            params['limit'] = limit
        return self.client.request('GET', '/availability', params=params)['availability']

    def busy(self, start=None, end=None, host_ids=(), **fields):
        """The busy intervals of each matching host: the API's ``busy`` object."""
        params = {key: value for key, value in fields.items() if value not in (None, '')}
        if start:
            params['start'] = dates.to_api_date(start)
        if end:
            params['end'] = dates.to_api_date(end)
        if host_ids:
            params['host_id'] = ','.join(str(h) for h in host_ids)
        return self.client.request('GET', '/availability/busy', params=params)['busy']


class UsageManager:
    """``/v1/usage``: a project's usage and limits over a window."""

    def __init__(self, client):
        self.client = client

    def show(self, start=None, end=None, project_id=None):
        params = {}
        if start:
            params['start'] = dates.to_api_date(start)
        if end:
            params['end'] = dates.to_api_date(end)
        if project_id:
            params['project_id'] = project_id
        return self.client.request('GET', '/usage', params=params)['usage']
