"""The typed client: ``Client(session)`` with ``leases``, ``hosts``, ``allocations`` and
``properties`` managers over a keystoneauth Adapter for service type ``reservation``.

Every method returns plain dicts (or lists of dicts) as the API sends them and raises
:class:`~climate.client.exceptions.ClimateClientError` for any error response.
"""

import datetime
import re

from keystoneauth1 import adapter
from keystoneauth1 import exceptions as ks_exceptions

from climate.client import dates
from climate.client.exceptions import ClimateClientError

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

    def request(self, method, path, body=None, params=None):
        """Send one request; the decoded JSON body (``None`` for 204) or an error."""
        kwargs = {'raise_exc': False,
                  'headers': {'OpenStack-API-Version': f'reservation {API_VERSION}',
                              'Accept': 'application/json'}}
        if body is not None:
            kwargs['json'] = body
        if params:
            kwargs['params'] = params
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
        except ks_exceptions.ClientException as exc:
            raise ClimateClientError(
                f'Cannot reach the reservation service: {exc}') from exc
        if response.status_code >= 400:
            raise ClimateClientError(
                _error_message(response), status=response.status_code,
                request_id=response.headers.get('X-Openstack-Request-Id'))
        if response.status_code == 204 or not response.content:
            return None
        return response.json()


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

    def list(self):
        return self.client.request('GET', '/leases')['leases']

    def get(self, lease_id):
        return self.client.request('GET', f'/leases/{lease_id}')['lease']

    def create(self, name, start, end, reservations, events=(), before_end=None):
        """Create a lease; ``start``/``end`` as :func:`dates.to_api_date` takes them."""
        body = {'name': name, 'start_date': dates.to_api_date(start),
                'end_date': dates.to_api_date(end), 'reservations': list(reservations),
                'events': list(events)}
        if before_end:
            body['before_end_date'] = dates.to_api_date(before_end)
        return self.client.request('POST', '/leases', body)['lease']

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
        return self.client.request('GET', '/os-hosts')['hosts']

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


class AllocationManager(_Manager):
    """``/v1/os-hosts/allocations``: which reservations hold which hosts."""

    def list(self, lease_id=None, reservation_id=None):
        params = {key: value for key, value in
                  (('lease_id', lease_id), ('reservation_id', reservation_id)) if value}
        return self.client.request('GET', '/os-hosts/allocations',
                                   params=params)['allocations']


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
