"""The Nova steps of a server reservation, each safe to repeat.

Every step first looks at the server and does only what is still missing, so the event
engine may retry it after a failure or a timeout and another manager may take it over:
shelving a shelved server, unshelving an active one or deleting a deleted one changes
nothing. A server that has a task in progress (shelving, unshelving, a snapshot) is
waited for before the next action, since Nova refuses actions during a task.

Steps raise ``climate.compute.exceptions`` errors; ``ServerNotFound`` means the server
is gone (the plugin decides what that means), ``retryable`` tells the event engine
whether trying again may help.
"""

from climate.compute import base
from climate.compute import exceptions as compute_exc

LEASE_KEY = 'climate:lease_id'
STATUS_KEY = 'climate:status'
METADATA_KEYS = (LEASE_KEY, STATUS_KEY)
# Values of climate:status.
RESERVED = 'RESERVED'
ACTIVE = 'ACTIVE'
ENDED = 'ENDED'

SHELVED = (base.SHELVED, base.SHELVED_OFFLOADED)
# Statuses without a task in progress that a reserved server may be in.
SETTLED = (base.ACTIVE, base.SHUTOFF, 'PAUSED', 'SUSPENDED') + SHELVED
RESERVABLE = SETTLED
# Nova task states of a server being unshelved.
UNSHELVING = ('unshelving', 'spawning')


class ServerSteps:
    """Nova steps through a compute driver, with the plugin's timeouts."""

    def __init__(self, driver, options):
        self.driver = driver
        self.options = options          # the [virtual:instance] group

    # Marks ---------------------------------------------------------------------------
    def mark(self, server_id, lease_id, status):
        """Tell the owner, in the server's metadata, why Climate holds it."""
        self.driver.set_server_metadata(server_id, {LEASE_KEY: lease_id,
                                                    STATUS_KEY: status})

    def unmark(self, server_id):
        self.driver.delete_server_metadata(server_id, METADATA_KEYS)

    # Waiting -------------------------------------------------------------------------
    def settle(self, server_id):
        """The server once no task is in progress (ERROR included)."""
        server = self.driver.get_server(server_id)
        if server.task_state is None:
            return server
        return self.driver.wait_for_server(server_id, SETTLED + (base.ERROR,))

    # Steps ---------------------------------------------------------------------------
    def hold(self, server_id, lease_id, shelve):
        """Mark the server RESERVED for the lease and, if ``shelve``, start shelving
        it (not waited for: the start of the lease waits if it must)."""
        server = self.driver.get_server(server_id)
        self.mark(server_id, lease_id, RESERVED)
        if shelve and server.status not in SHELVED and \
                not (server.task_state or '').startswith('shelving'):
            self.driver.shelve_server(server_id)

    def start(self, server_id, lease_id):
        """Unshelve the server if needed and wait until it is ACTIVE; mark it ACTIVE."""
        server = self.driver.get_server(server_id)
        if server.task_state is not None and server.task_state not in UNSHELVING:
            server = self.settle(server_id)
        if server.status == base.ERROR and server.task_state is None:
            raise compute_exc.ComputeError(
                f'Server {server_id} is in ERROR and cannot be started: '
                f'{server.fault or "no fault recorded"}')
        if server.status in SHELVED or server.task_state in UNSHELVING:
            if server.task_state is None:
                self.driver.unshelve_server(server_id)
            server = self.driver.wait_for_server(server_id, base.ACTIVE,
                                                 timeout=self.options.unshelve_timeout)
        self.mark(server_id, lease_id, ACTIVE)
        return server

    def hand_back(self, server_id, unshelve):
        """Give the server back to its owner: unshelved if ``unshelve`` and it is
        shelved (not waited for), and without Climate's marks."""
        server = self.settle(server_id)
        if unshelve and server.status in SHELVED:
            self.driver.unshelve_server(server_id)
        self.unmark(server_id)

    def shelve(self, server_id):
        """Shelve the server and wait until it is shelved."""
        server = self.settle(server_id)
        if server.status not in SHELVED:
            self.driver.shelve_server(server_id)
            self.driver.wait_for_server(server_id, SHELVED)

    def delete(self, server_id):
        """Delete the server and wait until it is gone."""
        self.driver.delete_server(server_id)
        self.driver.wait_for_server_gone(server_id)

    # Snapshots -----------------------------------------------------------------------
    def image_usable(self, image_id):
        """Whether a snapshot made earlier is saved or still being saved."""
        try:
            status = self.driver.get_image_status(image_id)
        except compute_exc.ImageNotFound:
            return False
        return status not in base.IMAGE_FAILED_STATUSES

    def create_snapshot(self, server_id, name, metadata):
        """Start a snapshot once the server has no task in progress; its image id."""
        self.settle(server_id)
        return self.driver.create_image(server_id, name[:255], metadata)

    def wait_for_snapshot(self, image_id, server_id):
        """Wait until the image is saved. A failed image is a retryable error: the
        next attempt makes a new snapshot (see ``image_usable``)."""
        try:
            self.driver.wait_for_image(image_id, timeout=self.options.snapshot_timeout)
        except compute_exc.ComputeError as error:
            if error.retryable:
                raise
            raise compute_exc.ComputeError(
                f'Snapshot {image_id} of server {server_id} failed ({error.message}); '
                f'a new one will be made', retryable=True) from error
