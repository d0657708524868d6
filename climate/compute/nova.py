"""The Nova compute driver: python-novaclient over one keystoneauth1 session.

The session, auth plugin and client are built once from the [nova] section and shared
by every call (and thread); keystoneauth re-authenticates when the token expires.

Compute microversion 2.87 is pinned for every call: it is the newest that still returns
vcpus/memory_mb/local_gb/running_vms from os-hypervisors (dropped in 2.88), and it has
UUID hypervisor ids and hostname-pattern search (2.53), ``image_id`` in the createImage
response (2.45), ``networks='none'`` (2.37) and booting on a given host (2.74).

Image status is read from Glance's v2 API (service type ``image``) through the same
session and catalog, because Nova's images proxy only exists up to microversion 2.35.

Trusts: ``create_trust`` asks Keystone, with the user's own token, to delegate the
user's roles in their project to the [nova] account (impersonation on);
``acting_for(trust_id)`` is a copy of this driver whose clients authenticate as that
account scoped to the trust, so Nova sees the user. Keystone lets only the trustor (or a
system-scoped admin) delete a trust, so ``delete_trust`` deletes it through the trust
itself, as the user.
"""

import collections
import contextlib
import copy
import threading
import urllib.parse

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1.loading import adapter as ks_loading_adapter
from novaclient import api_versions
from novaclient import client as nova_client
from novaclient import exceptions as nova_exc
from oslo_serialization import jsonutils
from oslo_utils import uuidutils

from climate.compute import base
from climate.compute import exceptions

API_VERSION = '2.87'
GROUP = 'nova'
# Drivers acting with a trust kept for reuse (each holds its own trust-scoped token).
TRUSTED_CLIENTS = 64
# Scope options a trust-scoped authentication must leave out.
TRUST_EXCLUDES = ('project_id', 'project_name', 'domain_id', 'domain_name',
                  'system_scope')


def _http_error(code, message, not_found=None):
    if code == 404 and not_found is not None:
        return not_found(message)
    retryable = code in (408, 429) or (code >= 500 and code != 501)
    return exceptions.ComputeError(message, retryable=retryable, status_code=code)


@contextlib.contextmanager
def _translated(not_found=None):
    """Turn novaclient/keystoneauth errors into climate.compute.exceptions."""
    try:
        yield
    except nova_exc.ClientException as error:
        raise _http_error(error.code, f'Nova: {error}', not_found) from error
    except ks_exc.ConnectTimeout as error:
        raise exceptions.ComputeTimeout(
            f'Nova did not answer in time: {error}') from error
    except ks_exc.ConnectionError as error:
        raise exceptions.ComputeError(f'Cannot reach Nova or Keystone: {error}',
                                      retryable=True) from error
    except ks_exc.HttpError as error:
        raise _http_error(error.http_status, f'{error}', not_found) from error
    except ks_exc.ClientException as error:
        # A missing endpoint or auth plugin is a configuration problem; a failed
        # discovery is one too unless Keystone could not be reached (or answered 5xx).
        raise exceptions.ComputeError(f'Cannot use Nova: {error}',
                                      retryable=_caused_by_outage(error)) from error


def _caused_by_outage(error):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, (ks_exc.ConnectionError, ks_exc.HttpServerError)):
            return True
        error = error.__cause__ or error.__context__
    return False


class NovaDriver(base.ComputeDriver):
    """Compute driver backed by a real Nova."""

    def __init__(self, conf):
        super().__init__(conf.compute.wait_timeout, conf.compute.poll_interval)
        self.freepool_name = conf[GROUP].aggregate_freepool_name
        self._conf = conf
        auth = ks_loading.load_auth_from_conf_options(conf, GROUP)
        if auth is None:
            raise exceptions.ComputeError(
                '[nova] auth_type is not set: Climate needs a Keystone service account '
                'to call Nova (see the [nova] section of climate.conf.sample)')
        self._auth = auth
        self._session = ks_loading.load_session_from_conf_options(conf, GROUP, auth=auth)
        adapter_kwargs = {}
        ks_loading_adapter.process_conf_options(conf[GROUP], adapter_kwargs)
        self._interface = adapter_kwargs.pop('interface')
        # The compute endpoint comes from the catalog (or endpoint_override) as is; the
        # API version is the pinned microversion, so version discovery options go unused.
        for unused in ('version', 'min_version', 'max_version'):
            adapter_kwargs.pop(unused)
        self._adapter_kwargs = adapter_kwargs
        self._nova, self._glance = self._clients(auth)
        self._trusted = collections.OrderedDict()   # trust id -> driver acting with it
        self._trusted_lock = threading.Lock()
        # Aggregate name -> id, so that finding one is a GET of that aggregate rather
        # than a listing of all of them (one per active host reservation). An id found
        # stale (deleted, or reused under another name) falls back to the listing.
        self._aggregate_ids = {}

    def _clients(self, auth):
        """A novaclient and a Glance adapter on the shared session, with ``auth``."""
        kwargs = self._adapter_kwargs
        nova = nova_client.Client(api_versions.APIVersion(API_VERSION),
                                  session=self._session, auth=auth,
                                  endpoint_type=self._interface, **kwargs)
        glance = ks_adapter.Adapter(
            self._session, auth=auth, service_type='image', interface=self._interface,
            region_name=kwargs['region_name'], connect_retries=kwargs['connect_retries'])
        return nova, glance

    # --- trusts ------------------------------------------------------------------------

    def _identity(self, method, path, auth=None, **kwargs):
        """A Keystone v3 request; the endpoint comes from the catalog of ``auth`` (the
        service account's by default), like Nova's."""
        endpoint_filter = {'service_type': 'identity', 'interface': self._interface,
                           'region_name': self._adapter_kwargs['region_name'],
                           'version': (3, 0)}
        return self._session.request(path, method, auth=auth or self._auth,
                                     endpoint_filter=endpoint_filter, **kwargs)

    @property
    def supports_trusts(self):
        return self._trust_options() is not None

    def create_trust(self, context):
        token = getattr(context, 'auth_token', None)
        roles = list(getattr(context, 'roles', None) or ())
        if not (token and context.user_id and context.project_id and roles):
            return None
        if not self.supports_trusts:
            return None     # a trust this account could never use
        with _translated():
            trustee = self._session.get_user_id(self._auth)
            body = {'trust': {'trustor_user_id': context.user_id,
                              'trustee_user_id': trustee,
                              'project_id': context.project_id,
                              'impersonation': True,
                              'roles': [{'name': role} for role in roles]}}
            # Only the trustor can delegate: the request carries the user's token.
            response = self._identity('POST', '/OS-TRUST/trusts', json=body,
                                      authenticated=False,
                                      headers={'X-Auth-Token': token})
        return response.json()['trust']['id']

    def delete_trust(self, trust_id):
        with self._trusted_lock:
            self._trusted.pop(trust_id, None)
        path = f'/OS-TRUST/trusts/{trust_id}'
        try:
            trust_auth = self._trust_auth(trust_id)
        except exceptions.ComputeError:
            trust_auth = None
        with _translated():
            if trust_auth is not None:
                # Keystone lets the trustor (or a system-scoped admin) delete a trust,
                # not the trustee: delete it as the user, through the trust itself.
                try:
                    self._identity('DELETE', path, auth=trust_auth)
                    return
                except ks_exc.NotFound:
                    return
                except (ks_exc.Unauthorized, ks_exc.Forbidden):
                    # The trust cannot be used: Keystone answers 401 when it is gone.
                    pass
            # As the service account: Keystone's 404 says the trust is gone; a trust
            # that still exists is deleted only if Keystone lets this account do so.
            try:
                self._identity('DELETE', path)
            except ks_exc.NotFound:
                pass

    def acting_for(self, trust_id):
        with self._trusted_lock:
            driver = self._trusted.get(trust_id)
            if driver is not None:
                self._trusted.move_to_end(trust_id)
                return driver
            driver = copy.copy(self)     # shares the session and this cache
            driver._nova, driver._glance = self._clients(self._trust_auth(trust_id))
            self._trusted[trust_id] = driver
            while len(self._trusted) > TRUSTED_CLIENTS:
                self._trusted.popitem(last=False)
        return driver

    def _trust_options(self):
        """The option names of the [nova] auth plugin, or None when it cannot
        authenticate with a trust: only a password can (Keystone refuses trust scope
        to an application credential, although keystoneauth offers the option)."""
        group = self._conf[GROUP]
        auth_type = group.auth_type
        if auth_type is None and group.auth_section:
            auth_type = self._conf[group.auth_section].auth_type
        loader = ks_loading.get_plugin_loader(auth_type)
        names = {opt.dest for opt in loader.get_options()}
        return names if {'trust_id', 'password'} <= names else None

    def _trust_auth(self, trust_id):
        """The [nova] account's password auth, scoped to the trust instead of a
        project (Keystone refuses both at once)."""
        names = self._trust_options()
        if names is None:
            raise exceptions.ComputeError(
                '[nova] auth_type cannot use a Keystone trust', status_code=401)
        overrides = {name: None for name in TRUST_EXCLUDES if name in names}
        return ks_loading.load_auth_from_conf_options(
            self._conf, GROUP, trust_id=trust_id, **overrides)

    # --- hypervisors -------------------------------------------------------------------

    def get_hypervisor(self, id_or_hostname):
        with _translated():
            if uuidutils.is_uuid_like(id_or_hostname):
                try:
                    found = self._nova.hypervisors.get(id_or_hostname)
                    return self._hypervisor(found.to_dict())
                except nova_exc.NotFound:
                    pass
            try:
                matches = self._nova.hypervisors.search(id_or_hostname, detailed=True)
            except nova_exc.NotFound:  # Nova answers 404 when the pattern matches none
                matches = []
            for match in matches:
                if match.hypervisor_hostname == id_or_hostname:
                    return self._hypervisor(match.to_dict())
        raise exceptions.HypervisorNotFound(f'No hypervisor with id or hostname '
                                            f'{id_or_hostname!r}')

    def list_hypervisors(self):
        with _translated():
            zones = {s.host: s.zone for s in
                     self._nova.services.list(binary='nova-compute')}
            found, marker = [], None
            while True:
                page = self._nova.hypervisors.list(detailed=True, marker=marker)
                if not page:
                    break
                found.extend(page)
                marker = page[-1].id
        return [self._hypervisor(h.to_dict(), zones) for h in found]

    def _hypervisor(self, data, zones=None):
        service_host = (data.get('service') or {}).get('host')
        if zones is None:
            services = self._nova.services.list(host=service_host, binary='nova-compute')
            zones = {s.host: s.zone for s in services}
        cpu_info = data.get('cpu_info')
        if not isinstance(cpu_info, str):
            cpu_info = jsonutils.dumps(cpu_info or {}, sort_keys=True)
        return base.Hypervisor(
            id=str(data['id']), hypervisor_hostname=data['hypervisor_hostname'],
            service_host=service_host, vcpus=data['vcpus'],
            memory_mb=data['memory_mb'], local_gb=data['local_gb'], cpu_info=cpu_info,
            hypervisor_type=data.get('hypervisor_type'),
            hypervisor_version=data.get('hypervisor_version'),
            availability_zone=zones.get(service_host),
            running_vms=data.get('running_vms', 0),
            state=data.get('state', 'up'), status=data.get('status', 'enabled'))

    def list_servers_on_host(self, host):
        with _translated():
            servers = self._nova.servers.list(
                detailed=True, search_opts={'all_tenants': True, 'host': host}, limit=-1)
        return [_server(s.to_dict()) for s in servers]

    # --- aggregates --------------------------------------------------------------------

    def find_aggregate(self, name):
        aggregate_id = self._aggregate_ids.get(name)
        if aggregate_id is not None:
            with _translated():
                try:
                    found = self._nova.aggregates.get(aggregate_id)
                except nova_exc.NotFound:
                    found = None
            if found is not None and found.name == name:
                return _aggregate(found.to_dict())
        with _translated():
            listing = self._nova.aggregates.list()
        # A whole listing replaces what was known (names of deleted ones go).
        self._aggregate_ids = {aggregate.name: aggregate.id for aggregate in listing}
        for aggregate in listing:
            if aggregate.name == name:
                return _aggregate(aggregate.to_dict())
        return None

    def _get_aggregate(self, name):
        aggregate = self.find_aggregate(name)
        if aggregate is None:
            raise exceptions.AggregateNotFound(f'No aggregate named {name!r}')
        return aggregate

    def ensure_aggregate(self, name, availability_zone=None, metadata=None):
        base.check_availability_zone(availability_zone)
        aggregate = self.find_aggregate(name)
        if aggregate is None:
            with _translated():
                try:
                    aggregate = _aggregate(self._nova.aggregates.create(
                        name, availability_zone).to_dict())
                    self._aggregate_ids[name] = aggregate.id
                except nova_exc.Conflict:
                    # Created meanwhile by another manager: use that one.
                    aggregate = self._get_aggregate(name)
        if availability_zone is not None and \
                aggregate.availability_zone != availability_zone:
            raise exceptions.ComputeError(
                f'Aggregate {name!r} exists in availability zone '
                f'{aggregate.availability_zone!r}, not {availability_zone!r}',
                status_code=409)
        if metadata:
            aggregate = self._set_metadata(aggregate, metadata)
        return aggregate

    def add_host(self, aggregate_name, host):
        aggregate = self._get_aggregate(aggregate_name)
        if host in aggregate.hosts:
            return aggregate
        with _translated():
            try:
                return _aggregate(self._nova.aggregates.add_host(
                    aggregate.id, host).to_dict())
            except nova_exc.NotFound as error:
                self._get_aggregate(aggregate_name)  # raises if it vanished meanwhile
                raise exceptions.ComputeHostNotFound(f'Nova: {error}') from error
            except nova_exc.Conflict:
                # Either added meanwhile (fine) or in another availability zone.
                current = self._get_aggregate(aggregate_name)
                if host in current.hosts:
                    return current
                raise

    def remove_host(self, aggregate_name, host):
        aggregate = self._get_aggregate(aggregate_name)
        if host not in aggregate.hosts:
            return aggregate
        with _translated(exceptions.AggregateNotFound):
            try:
                return _aggregate(self._nova.aggregates.remove_host(
                    aggregate.id, host).to_dict())
            except nova_exc.NotFound:
                current = self._get_aggregate(aggregate_name)
                if host not in current.hosts:
                    return current
                raise

    def set_aggregate_metadata(self, name, metadata):
        return self._set_metadata(self._get_aggregate(name), metadata)

    def _set_metadata(self, aggregate, metadata):
        base.check_availability_zone(metadata.get('availability_zone'))
        with _translated(exceptions.AggregateNotFound):
            return _aggregate(self._nova.aggregates.set_metadata(
                aggregate.id, metadata).to_dict())

    def delete_aggregate(self, name):
        for _attempt in range(3):
            aggregate = self.find_aggregate(name)
            if aggregate is None:
                return
            for host in aggregate.hosts:
                self.remove_host(name, host)
            with _translated():
                try:
                    self._nova.aggregates.delete(aggregate.id)
                    return
                except nova_exc.NotFound:
                    return
                except nova_exc.BadRequest:
                    # Nova refuses to delete a non-empty aggregate: a host was added
                    # meanwhile. Empty it again, a bounded number of times.
                    current = self.find_aggregate(name)
                    if current is None:
                        return
                    if not current.hosts:
                        raise
        raise exceptions.ComputeError(
            f'Aggregate {name!r} keeps getting hosts added while being deleted',
            retryable=True)

    # --- servers -----------------------------------------------------------------------

    def get_server(self, server_id):
        with _translated(exceptions.ServerNotFound):
            return _server(self._nova.servers.get(server_id).to_dict())

    def shelve_server(self, server_id):
        with _translated(exceptions.ServerNotFound):
            try:
                self._nova.servers.shelve(server_id)
            except nova_exc.Conflict:
                server = self.get_server(server_id)
                if server.status in (base.SHELVED, base.SHELVED_OFFLOADED) or \
                        (server.task_state or '').startswith('shelving'):
                    return
                raise

    def unshelve_server(self, server_id):
        with _translated(exceptions.ServerNotFound):
            try:
                self._nova.servers.unshelve(server_id)
            except nova_exc.Conflict:
                server = self.get_server(server_id)
                if (server.status == base.ACTIVE and server.task_state is None) or \
                        server.task_state in ('unshelving', 'spawning'):
                    return
                raise

    def delete_server(self, server_id):
        with _translated():
            try:
                self._nova.servers.delete(server_id)
            except nova_exc.NotFound:
                pass

    def create_image(self, server_id, name, metadata=None):
        with _translated(exceptions.ServerNotFound):
            return str(self._nova.servers.create_image(server_id, name, metadata))

    def get_image_status(self, image_id):
        with _translated(exceptions.ImageNotFound):
            response = self._glance.get(f'/v2/images/{image_id}')
        return response.json()['status'].lower()

    def set_server_metadata(self, server_id, metadata):
        with _translated(exceptions.ServerNotFound):
            return dict(self._nova.servers.set_meta(server_id, metadata).to_dict())

    def delete_server_metadata(self, server_id, keys):
        with _translated(exceptions.ServerNotFound):
            for key in keys:
                try:
                    self._nova.servers.delete_meta(
                        server_id, [urllib.parse.quote(key, safe='')])
                except nova_exc.NotFound:
                    self.get_server(server_id)  # raises ServerNotFound; else key absent

    def create_server(self, name, flavor, image, *, availability_zone=None, host=None,
                      scheduler_hints=None, networks='none', metadata=None):
        if not isinstance(networks, str):
            networks = [_nic(network) for network in networks]
        with _translated():
            created = self._nova.servers.create(
                name, image, flavor, meta=metadata, availability_zone=availability_zone,
                host=host, scheduler_hints=scheduler_hints, nics=networks)
        return self.get_server(created.id)


def _nic(network):
    """Nova's ``networks`` item ({"uuid"|"port"|"fixed_ip"}) as novaclient's nics item."""
    names = {'uuid': 'net-id', 'port': 'port-id', 'fixed_ip': 'v4-fixed-ip', 'tag': 'tag'}
    return {names.get(key, key): value for key, value in network.items()}


def _server(data):
    return base.Server(
        id=data['id'], name=data.get('name', ''), status=data.get('status'),
        project_id=data.get('tenant_id'), user_id=data.get('user_id'),
        host=data.get('OS-EXT-SRV-ATTR:host'),
        node=data.get('OS-EXT-SRV-ATTR:hypervisor_hostname'),
        metadata=dict(data.get('metadata') or {}),
        task_state=data.get('OS-EXT-STS:task_state'),
        fault=(data.get('fault') or {}).get('message'))


def _aggregate(data):
    metadata = dict(data.get('metadata') or {})
    metadata.pop('availability_zone', None)
    return base.Aggregate(id=data['id'], name=data['name'],
                          availability_zone=data.get('availability_zone'),
                          hosts=tuple(data.get('hosts') or ()), metadata=metadata,
                          uuid=data.get('uuid'))
