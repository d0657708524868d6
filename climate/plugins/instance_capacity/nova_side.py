"""The Nova objects of a capacity reservation, made and removed idempotently.

For reservation ``R`` of project ``P``:

* an aggregate named ``R`` (no availability zone) with the metadata
  ``reservation=R``, ``filter_tenant_id=P``, ``climate:owner=P`` and, per host
  holding a slice, ``climate:slots:<compute host>=<instances>``; the hosts stay in
  the freepool (ordinary boots stay off them through ``ClimateFilter``);
* a server group ``reservation:R`` in ``P`` (policy ``affinity`` or
  ``anti-affinity``) when the request sets ``affinity``;
* a private flavor whose id is ``R`` (so ``openstack server create --flavor R``
  works), named ``reservation:R``, sized as one instance, with the extra specs
  ``aggregate_instance_extra_specs:reservation=R`` and
  ``resources:CUSTOM_RESERVATION_<R>=1`` (and the source flavor's extra specs for
  ``flavor:instance``), usable by ``P`` only;
* in Placement, on each compute node holding ``n`` of ``R``'s instances, ``n`` units
  of the custom resource class ``CUSTOM_RESERVATION_<R>``
  (:mod:`climate.compute.placement`), recorded in the aggregate's metadata as
  ``climate:placement:<node>=<n>`` so that a node that left is known. Every boot of
  the flavor takes one unit in Placement, atomically: boots beyond ``amount`` get no
  valid host even when they race (``ClimateFilter``'s count of slots cannot see
  servers still being scheduled).

When: the server group is made at creation (``prepare``), so that the create
response already carries ``server_group_id``, the hint users boot with, as Blazar's
does. The aggregate is made at the start with its hosts and slots (its id is in the
reservation from then on; ``aggregate_id`` is null before), the nodes get their units
and the flavor is made then too, so the capacity cannot be used before the lease
starts (no flavor to boot with), a pending update only changes database rows, and a
create without ``affinity`` makes no Nova request at all. Before the start the
aggregate would hold no host and nothing reads it: making it at create cost two Nova
requests (create, metadata) on the request path. At the
end the servers booted with the flavor are deleted (all projects), then the flavor,
the units (a node that is gone is no error) and the resource class, the server group
and the aggregate; with ``on_end: snapshot_and_delete`` each server is first
snapshotted (image ``<[virtual:instance] snapshot_prefix><server name>``, as the
lease's owner through its trust when it works, its id kept in the server's metadata
under ``climate:snapshot:R`` so that a retried end makes no second image) and the
images are waited for. Every step looks before it acts, so any of them may run
again.
"""

from oslo_log import log as logging

from climate.compute import exceptions as compute_exc
from climate.compute import placement

LOG = logging.getLogger(__name__)

RESERVATION_SPEC = 'aggregate_instance_extra_specs:reservation'
SLOTS_PREFIX = 'climate:slots:'
UNITS_PREFIX = 'climate:placement:'
OWNER_KEY = 'climate:owner'
SNAPSHOT_MARK = 'climate:snapshot:'


def flavor_name(reservation_id):
    return f'reservation:{reservation_id}'


def resources_spec(reservation_id):
    """The flavor extra spec asking Placement for one unit of the reservation's
    class."""
    return f'resources:{placement.resource_class(reservation_id)}'


def flavor_specs(reservation_id, request):
    specs = {k: v for k, v in (request.get('extra_specs') or {}).items()
             if not k.startswith('resources:' + placement.CLASS_PREFIX)}
    specs[RESERVATION_SPEC] = reservation_id
    specs[resources_spec(reservation_id)] = '1'
    return specs


class NovaSide:
    """The Nova steps of capacity reservations over one compute driver."""

    def __init__(self, compute):
        self.compute = compute

    def _as_owner(self, lease):
        trust_id = lease.get('trust_id')
        if trust_id and self.compute.supports_trusts:
            return self.compute.acting_for(trust_id)
        return self.compute

    @staticmethod
    def prepares(request):
        """Whether :meth:`prepare` has anything to make for ``request``."""
        return request['affinity'] is not None

    def prepare(self, lease, reservation_id, request):
        """The server group, when the request sets ``affinity``: its id, or None.
        On a failure, what was made is removed before it raises."""
        if not self.prepares(request):
            return None
        policy = 'affinity' if request['affinity'] else 'anti-affinity'
        try:
            return self._as_owner(lease).ensure_server_group(
                flavor_name(reservation_id), policy)
        except Exception:
            self.undo_prepare(lease, reservation_id, request)
            raise

    def undo_prepare(self, lease, reservation_id, request, group_id=None):
        """Remove what :meth:`prepare` made (``group_id``: the server group it
        returned) after a failure; a failure here is logged, not raised, so that
        the caller reports the first one."""
        try:
            self.remove(lease, reservation_id, dict(request, server_group_id=group_id))
        except Exception:
            LOG.exception('Could not remove the aggregate and server group of '
                          'reservation %s after its creation failed', reservation_id)

    def start(self, lease, reservation_id, request, hosts, nodes):
        """The aggregate (made if missing, with its owner's metadata), its hosts
        and slots, units into Placement, then the flavor (last: no boot can ask for
        units before they exist). Returns the aggregate's id.

        :param hosts: ``{compute host: instances}``.
        :param nodes: ``{compute node: instances}`` (the same instances by node).
        """
        project_id = lease['project_id']
        aggregate = self.compute.ensure_aggregate(
            reservation_id, metadata={'reservation': reservation_id,
                                      'filter_tenant_id': project_id,
                                      OWNER_KEY: project_id})
        self.hold_exactly(reservation_id, hosts, nodes, aggregate)
        self.compute.ensure_flavor(
            reservation_id, flavor_name(reservation_id), request['vcpus'],
            request['memory_mb'], request['disk_gb'],
            flavor_specs(reservation_id, request), project_id)
        return aggregate.id

    def hold_exactly(self, reservation_id, hosts, nodes, aggregate=None):
        """Make the aggregate (``aggregate``, when just read) hold exactly ``hosts``
        with their slots, and Placement exactly ``nodes`` units of the reservation's
        class."""
        resource_class = placement.resource_class(reservation_id)
        if aggregate is None:
            aggregate = self.compute.ensure_aggregate(reservation_id)
        for node, count in sorted(nodes.items()):
            self.compute.set_reservation_inventory(node, resource_class, count)
        for host in hosts:
            self.compute.add_host(reservation_id, host)
        for host in set(aggregate.hosts) - set(hosts):
            self.compute.remove_host(reservation_id, host)
        metadata = {SLOTS_PREFIX + host: str(count) for host, count in hosts.items()}
        metadata.update({UNITS_PREFIX + node: str(count)
                         for node, count in nodes.items()})
        for key in aggregate.metadata:
            if key.startswith(UNITS_PREFIX) and key not in metadata:
                node = key[len(UNITS_PREFIX):]
                # A node still holding servers of the flavor keeps its (blocked)
                # units and its key, so that the end removes them.
                gone = self.compute.remove_reservation_inventory(node, resource_class)
                metadata[key] = None if gone else '0'
            elif key.startswith(SLOTS_PREFIX) and key not in metadata:
                metadata[key] = None
        if metadata:
            self.compute.set_aggregate_metadata(reservation_id, metadata)

    def snapshot_servers(self, lease, reservation_id, make_steps):
        """Snapshot every server booted with the flavor once, then wait until every
        image is saved; ``{server id: image id}``.

        The snapshot is taken as the lease's owner (through its trust) so that the
        image is theirs, or with the service account when there is no usable trust.

        :param make_steps: a driver -> ``ServerSteps`` (settling, snapshot, waiting).
        """
        mark = SNAPSHOT_MARK + reservation_id
        steps = make_steps(self.compute)
        owner = self._as_owner(lease)
        owner_steps = make_steps(owner) if owner is not self.compute else None
        images = {}
        for server in self.compute.list_servers_with_flavor(reservation_id):
            image_id = server.metadata.get(mark)
            if image_id is None or not steps.image_usable(image_id):
                name = steps.options.snapshot_prefix + server.name
                metadata = {'climate_reservation_id': reservation_id,
                            'climate_phase': 'on_end'}
                try:
                    image_id = None
                    if owner_steps is not None:
                        try:
                            image_id = owner_steps.create_snapshot(server.id, name,
                                                                   metadata)
                        except compute_exc.ComputeError as error:
                            if error.status_code not in (401, 403):
                                raise
                    if image_id is None:
                        image_id = steps.create_snapshot(server.id, name, metadata)
                    self.compute.set_server_metadata(server.id, {mark: image_id})
                except compute_exc.ServerNotFound:
                    continue    # deleted by its owner meanwhile
            images[server.id] = image_id
        for server_id, image_id in images.items():
            steps.wait_for_snapshot(image_id, server_id)
        return images

    def end(self, lease, reservation_id, request, delete_servers=True):
        """Delete the servers booted with the flavor, then every object."""
        if delete_servers:
            servers = self.compute.list_servers_with_flavor(reservation_id)
            for server in servers:
                self.compute.delete_server(server.id)
            for server in servers:
                self.compute.wait_for_server_gone(server.id)
        self.remove(lease, reservation_id, request)

    def remove(self, lease, reservation_id, request):
        self.compute.delete_flavor(reservation_id)
        self.remove_units(reservation_id)
        group_id = request.get('server_group_id')
        if group_id:
            try:
                self._as_owner(lease).delete_server_group(group_id)
            except compute_exc.ComputeError as error:
                if error.status_code not in (401, 403):
                    raise
                self.compute.delete_server_group(group_id)
        self.compute.delete_aggregate(reservation_id)

    def remove_units(self, reservation_id):
        """The reservation's units off every node the aggregate records (a node
        that is gone is no error), then its resource class."""
        resource_class = placement.resource_class(reservation_id)
        aggregate = self.compute.find_aggregate(reservation_id)
        nodes = [key[len(UNITS_PREFIX):] for key in
                 (aggregate.metadata if aggregate is not None else {})
                 if key.startswith(UNITS_PREFIX)]
        for node in sorted(nodes):
            if not self.compute.remove_reservation_inventory(node, resource_class):
                LOG.warning('Servers of reservation %s still hold units on %s; '
                            'they offer nothing new', reservation_id, node)
        self.compute.delete_resource_class(resource_class)
