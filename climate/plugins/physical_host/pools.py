"""What the host plugin does in Nova, through the compute driver; all idempotent.

Aggregates (the names ``climate.scheduler.filter.ClimateFilter`` expects):

* the freepool (``[nova] aggregate_freepool_name``) holds enrolled hosts outside a
  running reservation; it is created if missing;
* each reservation has an aggregate named after the reservation id, with the
  availability zone ``[physical:host] az_prefix`` + id and the metadata
  ``[physical:host] owner_key`` = the project id.

A host moving between two aggregates is added to the target before it leaves the
source, so it is never in neither (where ClimateFilter would let ordinary servers
land). Should Nova refuse it in both at once (the source has an availability zone of
its own), it leaves the source first and is put back there if joining fails.

Every method may be repeated after a failure or a timeout, by this manager or another,
and converges to the same state; retryable errors from the driver propagate so the
event engine tries again.
"""

from oslo_log import log as logging

from climate.compute import base as compute_base
from climate.compute import exceptions as compute_exc

LOG = logging.getLogger(__name__)
# Server metadata marking a server already snapshotted for a reservation.
SNAPSHOT_MARK = 'climate:snapshot:'


class HostPools:

    def __init__(self, driver, conf):
        self.driver = driver
        self.freepool = conf.nova.aggregate_freepool_name
        group = conf['physical:host']
        self.az_prefix = group.az_prefix
        self.owner_key = group.owner_key
        self.image_prefix = group.image_prefix

    # Enrollment ---------------------------------------------------------------------
    def ensure_freepool(self):
        return self.driver.ensure_aggregate(self.freepool)

    def enroll(self, host):
        """Put a newly enrolled host into the freepool (created if missing)."""
        try:
            self.driver.add_host(self.freepool, host)
        except compute_exc.AggregateNotFound:
            self.ensure_freepool()
            self.driver.add_host(self.freepool, host)

    def withdraw(self, host):
        """Take a host being removed from Climate out of the freepool."""
        try:
            self.driver.remove_host(self.freepool, host)
        except compute_exc.AggregateNotFound:
            pass

    def servers_on(self, host):
        return self.driver.list_servers_on_host(host)

    # Reservations -------------------------------------------------------------------
    def ensure_reservation_aggregate(self, reservation_id, project_id):
        return self.driver.ensure_aggregate(
            reservation_id, availability_zone=self.az_prefix + reservation_id,
            metadata={self.owner_key: project_id})

    def take(self, reservation_id, project_id, hosts):
        """Move ``hosts`` from the freepool into the reservation's aggregate."""
        self.ensure_reservation_aggregate(reservation_id, project_id)
        for host in sorted(hosts):
            self._move(host, source=self.freepool, target=reservation_id)

    def hold_exactly(self, reservation_id, project_id, hosts):
        """Make the reservation's aggregate hold ``hosts`` and no other: the missing
        ones come from the freepool, the others go back to it."""
        self.take(reservation_id, project_id, hosts)
        aggregate = self.driver.find_aggregate(reservation_id)
        for host in sorted(set(aggregate.hosts if aggregate else ()) - set(hosts)):
            self._move(host, source=reservation_id, target=self.freepool)

    def give_back(self, reservation_id, hosts):
        """Return the reservation's hosts to the freepool and delete its aggregate.

        ``hosts`` are those of the allocations; any other host found in the
        aggregate goes back too.
        """
        aggregate = self.driver.find_aggregate(reservation_id)
        returning = set(hosts) | set(aggregate.hosts if aggregate else ())
        if returning:
            self.ensure_freepool()
        for host in sorted(returning):
            if aggregate is None:
                self.driver.add_host(self.freepool, host)
            else:
                self._move(host, source=reservation_id, target=self.freepool)
        self.driver.delete_aggregate(reservation_id)

    def _move(self, host, source, target):
        try:
            self.driver.add_host(target, host)
        except compute_exc.ComputeError as error:
            if error.retryable or error.status_code != 409:
                raise
            # Nova refuses the host in both (the source has an availability zone).
            LOG.info('Moving %s from %s to %s through no aggregate: %s', host, source,
                     target, error.message)
            self.driver.remove_host(source, host)
            try:
                self.driver.add_host(target, host)
            except Exception:
                self.driver.add_host(source, host)
                raise
            return
        try:
            self.driver.remove_host(source, host)
        except compute_exc.AggregateNotFound:
            pass

    # Servers ------------------------------------------------------------------------
    def snapshot_servers(self, reservation_id, hosts):
        """Snapshot every server on ``hosts`` once per reservation.

        Each snapshotted server is marked in its metadata, so a retried event skips
        it (a crash between the snapshot and the mark can make a second image).
        """
        mark = SNAPSHOT_MARK + reservation_id
        for host in sorted(hosts):
            for server in self.driver.list_servers_on_host(host):
                if mark in server.metadata or server.status == compute_base.DELETED:
                    continue
                try:
                    image_id = self.driver.create_image(
                        server.id, self.image_prefix + server.name)
                except compute_exc.ServerNotFound:
                    continue
                LOG.info('Snapshot %s of server %s (reservation %s)', image_id,
                         server.id, reservation_id)
                try:
                    self.driver.set_server_metadata(server.id, {mark: image_id})
                except compute_exc.ServerNotFound:
                    continue

    def delete_servers(self, hosts):
        """Delete every server on ``hosts`` (all projects) and wait until gone."""
        deleting = []
        for host in sorted(hosts):
            for server in self.driver.list_servers_on_host(host):
                LOG.info('Deleting server %s (project %s) left on reserved host %s',
                         server.id, server.project_id, host)
                self.driver.delete_server(server.id)
                deleting.append(server.id)
        for server_id in deleting:
            self.driver.wait_for_server_gone(server_id)
        return deleting
