"""The Nova compute driver: python-novaclient over the [nova] account's session.

The session, auth plugin and clients are built once from the [nova] section
(``climate.compute.session``) and shared by every call (and thread); keystoneauth
re-authenticates when the token expires. ``NovaDriver`` composes the services a
Nova driver needs besides Nova: Glance for the status of snapshot images
(``climate.compute.glance``) and Keystone trusts (``climate.compute.trusts``).

Compute microversion 2.87 is pinned for every call: it is the newest that still returns
vcpus/memory_mb/local_gb/running_vms from os-hypervisors (dropped in 2.88), and it has
UUID hypervisor ids and hostname-pattern search (2.53), ``image_id`` in the createImage
response (2.45), ``networks='none'`` (2.37) and booting on a given host (2.74).

Trusts: ``acting_for(trust_id)`` is a copy of this driver whose Nova and Glance clients
authenticate as the [nova] account scoped to the trust, so Nova sees the user.
"""

import collections
import contextlib
import copy
import threading
import urllib.parse

from novaclient import api_versions
from novaclient import client as nova_client
from novaclient import exceptions as nova_exc
from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import uuidutils

from climate.compute import base
from climate.compute import exceptions
from climate.compute import glance
from climate.compute import placement
from climate.compute import session as account_session
from climate.compute import trusts

LOG = logging.getLogger(__name__)
API_VERSION = '2.87'
GROUP = account_session.GROUP
# Drivers acting with a trust kept for reuse (each holds its own trust-scoped token).
TRUSTED_CLIENTS = 64


@contextlib.contextmanager
def _translated(not_found=None):
    """Turn novaclient/keystoneauth errors into climate.compute.exceptions."""
    with account_session.translated(not_found):
        try:
            yield
        except nova_exc.ClientException as error:
            raise account_session.http_error(error.code, f'Nova: {error}',
                                             not_found) from error


class NovaDriver(base.ComputeDriver):
    """Compute driver backed by a real Nova (with Glance and Keystone trusts)."""

    def __init__(self, conf):
        super().__init__(conf.compute.wait_timeout, conf.compute.poll_interval)
        self.freepool_name = conf[GROUP].aggregate_freepool_name
        self._account = account_session.ServiceAccount(conf, GROUP)
        self._trusts = trusts.KeystoneTrusts(self._account)
        self._placement = placement.PlacementClient(self._account)
        self._nova, self._images = self._clients(self._account.auth)
        self._trusted = collections.OrderedDict()   # trust id -> driver acting with it
        self._trusted_lock = threading.Lock()
        # Aggregate name -> id, so that finding one is a GET of that aggregate rather
        # than a listing of all of them (one per active host reservation). An id found
        # stale (deleted, or reused under another name) falls back to the listing.
        self._aggregate_ids = {}

    def _clients(self, auth):
        """A novaclient and Glance images on the shared session, with ``auth``."""
        account = self._account
        nova = nova_client.Client(api_versions.APIVersion(API_VERSION),
                                  session=account.session, auth=auth,
                                  endpoint_type=account.interface,
                                  **account.adapter_kwargs)
        return nova, glance.GlanceImages(account, auth)

    # --- trusts ------------------------------------------------------------------------

    @property
    def supports_trusts(self):
        return self._trusts.supported

    def create_trust(self, context):
        return self._trusts.create(context)

    def delete_trust(self, trust_id):
        with self._trusted_lock:
            self._trusted.pop(trust_id, None)
        self._trusts.delete(trust_id)

    def acting_for(self, trust_id):
        with self._trusted_lock:
            driver = self._trusted.get(trust_id)
            if driver is not None:
                self._trusted.move_to_end(trust_id)
                return driver
            driver = copy.copy(self)     # shares the session and this cache
            driver._nova, driver._images = self._clients(
                self._trusts.auth_for(trust_id))
            self._trusted[trust_id] = driver
            while len(self._trusted) > TRUSTED_CLIENTS:
                self._trusted.popitem(last=False)
        return driver

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

    def list_compute_services(self):
        with _translated():
            services = self._nova.services.list(binary='nova-compute')
        return [base.ComputeService(
            host=s.host, state=getattr(s, 'state', 'up') or 'up',
            status=getattr(s, 'status', 'enabled') or 'enabled',
            forced_down=bool(getattr(s, 'forced_down', False)),
            disabled_reason=getattr(s, 'disabled_reason', None)) for s in services]

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
        # A name never seen here is most likely new (a reservation's): create it at
        # once rather than list every aggregate (one per reservation) to look for it;
        # Nova's 409 on the name says it exists.
        aggregate = self.find_aggregate(name) if name in self._aggregate_ids else None
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

    def _by_known_id(self, aggregate_name, host, change, undo):
        """``change(id, host)`` on the aggregate id known for ``aggregate_name``
        without reading the aggregate first: the answer names it, so a stale id is
        noticed after. None when no id is known, when Nova refuses (a 404 or 409: the
        aggregate is gone, or the host is already in or not in it; the caller reads
        the aggregate and decides), or when the id names another aggregate now
        (``undo(id, host)`` puts that one back as it was)."""
        aggregate_id = self._aggregate_ids.get(aggregate_name)
        if aggregate_id is None:
            return None
        with _translated():
            try:
                changed = _aggregate(change(aggregate_id, host).to_dict())
            except (nova_exc.NotFound, nova_exc.Conflict):
                return None
            if changed.name == aggregate_name:
                return changed
            # Forgotten first: should the undo fail, the retry looks the name up.
            if self._aggregate_ids.get(aggregate_name) == aggregate_id:
                del self._aggregate_ids[aggregate_name]
            LOG.warning('Aggregate %s is now named %r, not %r: %s is put back as it '
                        'was there', aggregate_id, changed.name, aggregate_name, host)
            undo(aggregate_id, host)
        return None

    def add_host(self, aggregate_name, host):
        # By the known id at once: a start adds its host to the aggregate it has just
        # made, and takes it out of the freepool, whose answer lists every free host.
        added = self._by_known_id(aggregate_name, host, self._nova.aggregates.add_host,
                                  self._nova.aggregates.remove_host)
        if added is not None:
            return added
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
        removed = self._by_known_id(aggregate_name, host,
                                    self._nova.aggregates.remove_host,
                                    self._nova.aggregates.add_host)
        if removed is not None:
            return removed
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
        return self._images.get_status(image_id)

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


    # --- flavors and server groups ------------------------------------------------------

    def get_flavor(self, flavor_id):
        with _translated(exceptions.FlavorNotFound):
            flavor = self._nova.flavors.get(flavor_id)
            specs = flavor.get_keys()
        return _flavor(flavor.to_dict(), specs)

    def ensure_flavor(self, flavor_id, name, vcpus, ram, disk, extra_specs,
                      project_id, ephemeral=0):
        with _translated():
            try:
                flavor = self._nova.flavors.get(flavor_id)
            except nova_exc.NotFound:
                try:
                    flavor = self._nova.flavors.create(
                        name, ram, vcpus, disk, flavorid=flavor_id,
                        ephemeral=ephemeral, is_public=False)
                except nova_exc.Conflict:
                    flavor = self._nova.flavors.get(flavor_id)   # made meanwhile
            if extra_specs:
                flavor.set_keys(dict(extra_specs))
            try:
                self._nova.flavor_access.add_tenant_access(flavor_id, project_id)
            except nova_exc.Conflict:
                pass     # the project has access already
            return _flavor(flavor.to_dict(), flavor.get_keys())

    def delete_flavor(self, flavor_id):
        with _translated():
            try:
                self._nova.flavors.delete(flavor_id)
            except nova_exc.NotFound:
                pass

    def list_servers_with_flavor(self, flavor_id):
        with _translated():
            servers = self._nova.servers.list(
                detailed=True, search_opts={'all_tenants': True, 'flavor': flavor_id},
                limit=-1)
        return [_server(s.to_dict()) for s in servers]

    def ensure_server_group(self, name, policy):
        with _translated():
            for group in self._nova.server_groups.list():
                if group.name == name:
                    return group.id
            return self._nova.server_groups.create(name=name, policy=policy).id

    def delete_server_group(self, group_id):
        with _translated():
            try:
                self._nova.server_groups.delete(group_id)
            except nova_exc.NotFound:
                pass

    # --- Placement ----------------------------------------------------------------------

    def set_reservation_inventory(self, node, resource_class, total):
        self._placement.set_reservation_inventory(node, resource_class, total)

    def remove_reservation_inventory(self, node, resource_class):
        return self._placement.remove_reservation_inventory(node, resource_class)

    def overclaimed_units(self):
        return self._placement.overclaimed()

    def delete_resource_class(self, resource_class):
        try:
            self._placement.delete_resource_class(resource_class)
            return
        except placement.InventoryInUse:
            pass
        # Inventory left on a node the reservation no longer knows (e.g. a failed
        # host whose servers held units when its slots moved): sweep it.
        for node in self._placement.reservation_providers(resource_class):
            self._placement.remove_reservation_inventory(node, resource_class)
        try:
            self._placement.delete_resource_class(resource_class)
        except placement.InventoryInUse:
            LOG.warning('Resource class %s is still held by servers; it stays in '
                        'Placement (unused)', resource_class)


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


def _flavor(data, extra_specs):
    return base.Flavor(id=str(data['id']), name=data.get('name') or '',
                       vcpus=int(data.get('vcpus') or 0), ram=int(data.get('ram') or 0),
                       disk=int(data.get('disk') or 0),
                       ephemeral=int(data.get('OS-FLV-EXT-DATA:ephemeral') or 0),
                       is_public=bool(data.get('os-flavor-access:is_public', True)),
                       extra_specs=dict(extra_specs or {}))
