"""The compute driver interface: every call Climate's plugins make to Nova.

Drivers return the plain dataclasses below, never client objects, and raise only
``climate.compute.exceptions``. Methods documented as idempotent may be repeated after a
failure or a timeout with the same effect as one successful call, because the event
engine retries what failed with a retryable error.

Host names: Nova aggregates and the ``host`` server filter use the *compute service*
host (``Hypervisor.service_host``), which may differ from ``hypervisor_hostname`` (the
node, e.g. an FQDN with libvirt or a node UUID with Ironic).
"""

import abc
import dataclasses
import time

from climate.compute import exceptions

# Nova server statuses Climate cares about (``Server.status``).
ACTIVE = 'ACTIVE'
BUILD = 'BUILD'
DELETED = 'DELETED'
ERROR = 'ERROR'
SHUTOFF = 'SHUTOFF'
SHELVED = 'SHELVED'
SHELVED_OFFLOADED = 'SHELVED_OFFLOADED'

# Glance image statuses (``get_image_status``), lower case as Glance spells them.
IMAGE_QUEUED = 'queued'
IMAGE_SAVING = 'saving'
IMAGE_ACTIVE = 'active'
IMAGE_KILLED = 'killed'
IMAGE_DELETED = 'deleted'
IMAGE_FAILED_STATUSES = frozenset({IMAGE_KILLED, IMAGE_DELETED, 'pending_delete'})


@dataclasses.dataclass(frozen=True)
class Hypervisor:
    id: str                         # Nova's id (a UUID since microversion 2.53)
    hypervisor_hostname: str
    service_host: str               # the nova-compute host: what aggregates hold
    vcpus: int
    memory_mb: int
    local_gb: int
    cpu_info: str                   # JSON text
    hypervisor_type: str
    hypervisor_version: int
    availability_zone: str | None
    running_vms: int
    state: str = 'up'               # 'up' or 'down'
    status: str = 'enabled'         # 'enabled' or 'disabled'


@dataclasses.dataclass(frozen=True)
class ComputeService:
    """A nova-compute service as host monitoring sees it."""

    host: str                       # the compute service host (``service_host``)
    state: str = 'up'               # 'up' or 'down' (heart-beats reach Nova or not)
    status: str = 'enabled'         # 'enabled' or 'disabled' (by an operator)
    forced_down: bool = False
    disabled_reason: str | None = None

    @property
    def failure(self):
        """Why the host cannot run servers (None when it can)."""
        reasons = []
        if self.forced_down:
            reasons.append('forced down')
        if self.state != 'up':
            reasons.append(f'service {self.state}')
        if self.status != 'enabled':
            reasons.append(f'service {self.status}'
                           + (f' ({self.disabled_reason})' if self.disabled_reason
                              else ''))
        return ', '.join(reasons) or None


@dataclasses.dataclass(frozen=True)
class Server:
    id: str
    name: str
    status: str
    project_id: str
    user_id: str | None = None
    host: str | None = None         # compute service host; None when offloaded
    node: str | None = None         # hypervisor_hostname
    metadata: dict = dataclasses.field(default_factory=dict)
    task_state: str | None = None
    fault: str | None = None        # Nova's fault message when status is ERROR


@dataclasses.dataclass(frozen=True)
class Aggregate:
    id: int
    name: str
    availability_zone: str | None
    hosts: tuple = ()
    # Metadata without 'availability_zone', which is the field above.
    metadata: dict = dataclasses.field(default_factory=dict)
    uuid: str | None = None


@dataclasses.dataclass(frozen=True)
class Flavor:
    id: str
    name: str
    vcpus: int
    ram: int                        # MB
    disk: int                       # GB, root disk
    ephemeral: int = 0              # GB
    is_public: bool = True
    extra_specs: dict = dataclasses.field(default_factory=dict)


def check_availability_zone(name):
    """Nova refuses availability zone names containing ':' (it means "az:host")."""
    if name is not None and (':' in name or not name.strip()):
        raise exceptions.ComputeError(
            f'Invalid availability zone name {name!r}: it must be non-empty and must '
            f'not contain ":"', retryable=False, status_code=400)


class ComputeDriver(abc.ABC):
    """What Climate needs from Nova. Subclasses implement the abstract methods."""

    # Name of the aggregate of enrolled hosts outside reservations; drivers set it
    # from [nova] aggregate_freepool_name.
    freepool_name = 'freepool'

    def __init__(self, wait_timeout=600.0, poll_interval=5.0):
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self._sleep = time.sleep
        self._clock = time.monotonic

    # --- hypervisors -------------------------------------------------------------------

    @abc.abstractmethod
    def get_hypervisor(self, id_or_hostname: str) -> Hypervisor:
        """By Nova hypervisor id first, then by exact hypervisor_hostname.

        :raises HypervisorNotFound:
        """

    @abc.abstractmethod
    def list_hypervisors(self) -> list[Hypervisor]:
        """Every hypervisor Nova knows."""

    def list_compute_services(self) -> list[ComputeService]:
        """Every nova-compute service, in ONE call to Nova (host monitoring polls it).

        This default reads the hypervisor list; drivers override it with Nova's
        services list, which also tells a forced-down service.
        """
        return [ComputeService(host=h.service_host, state=h.state, status=h.status)
                for h in self.list_hypervisors()]

    @abc.abstractmethod
    def list_servers_on_host(self, host: str) -> list[Server]:
        """Servers of all projects on the compute service host ``host`` (not deleted)."""

    # --- aggregates --------------------------------------------------------------------

    @abc.abstractmethod
    def find_aggregate(self, name: str) -> Aggregate | None:
        """The aggregate called ``name``, or None."""

    @abc.abstractmethod
    def ensure_aggregate(self, name: str, availability_zone: str | None = None,
                         metadata: dict | None = None) -> Aggregate:
        """Create the aggregate, or return the existing one. Idempotent.

        ``metadata`` is applied to an existing aggregate too (None values unset keys).
        An existing aggregate with a different availability zone is an error.
        """

    @abc.abstractmethod
    def add_host(self, aggregate_name: str, host: str) -> Aggregate:
        """Put a compute service host into the aggregate. Idempotent.

        :raises AggregateNotFound: no such aggregate.
        :raises ComputeHostNotFound: no nova-compute service with that host name.
        :raises ComputeError: (409) the host is in another availability zone.
        """

    @abc.abstractmethod
    def remove_host(self, aggregate_name: str, host: str) -> Aggregate:
        """Take the host out of the aggregate; no error if it is not there. Idempotent.

        :raises AggregateNotFound:
        """

    @abc.abstractmethod
    def set_aggregate_metadata(self, name: str, metadata: dict) -> Aggregate:
        """Merge ``metadata`` into the aggregate's; a None value unsets that key.

        :raises AggregateNotFound:
        """

    @abc.abstractmethod
    def delete_aggregate(self, name: str) -> None:
        """Remove the aggregate's hosts, then the aggregate; no error if it is absent.
        Idempotent."""

    # --- servers -----------------------------------------------------------------------

    @abc.abstractmethod
    def get_server(self, server_id: str) -> Server:
        """:raises ServerNotFound:"""

    @abc.abstractmethod
    def shelve_server(self, server_id: str) -> None:
        """Start shelving (ends in SHELVED_OFFLOADED with Nova's default
        ``shelved_offload_time=0``). Idempotent: no error if already shelved or
        shelving. Returns before the server is shelved: see ``wait_for_server``.

        :raises ServerNotFound:
        :raises ComputeError: (409) the server cannot be shelved in its state.
        """

    @abc.abstractmethod
    def unshelve_server(self, server_id: str) -> None:
        """Start unshelving (ends in ACTIVE). Idempotent: no error if already ACTIVE
        or unshelving.

        :raises ServerNotFound:
        :raises ComputeError: (409) the server is neither shelved nor active.
        """

    @abc.abstractmethod
    def delete_server(self, server_id: str) -> None:
        """Start deleting the server; no error if it is already gone. Idempotent."""

    @abc.abstractmethod
    def create_image(self, server_id: str, name: str,
                     metadata: dict | None = None) -> str:
        """Snapshot the server; returns the new image id at once (the image starts
        ``queued``: see ``wait_for_image``). Not idempotent: each call makes an image.

        :raises ServerNotFound:
        """

    @abc.abstractmethod
    def get_image_status(self, image_id: str) -> str:
        """Glance's status of the image, lower case (queued, saving, active, killed…).

        :raises ImageNotFound:
        """

    @abc.abstractmethod
    def set_server_metadata(self, server_id: str, metadata: dict) -> dict:
        """Merge ``metadata`` into the server's; returns the whole metadata. Idempotent.
        """

    @abc.abstractmethod
    def delete_server_metadata(self, server_id: str, keys) -> None:
        """Remove these keys; absent keys are ignored. Idempotent."""

    @abc.abstractmethod
    def create_server(self, name: str, flavor: str, image: str, *,
                      availability_zone: str | None = None, host: str | None = None,
                      scheduler_hints: dict | None = None, networks='none',
                      metadata: dict | None = None) -> Server:
        """Boot a server in the project of the driver's credentials (BUILD, then
        ACTIVE or ERROR). ``flavor`` and ``image`` are ids; ``networks`` is Nova's
        ``networks`` value: 'none', 'auto' or a list of ``{"uuid": …}``."""

    # --- flavors and server groups (capacity reservations) -----------------------------
    # Not abstract: drivers without capacity reservations keep working; these raise.

    def get_flavor(self, flavor_id: str) -> Flavor:
        """The flavor with its extra specs, as the caller sees it.

        :raises FlavorNotFound:
        """
        raise exceptions.ComputeError('flavors are not supported by this driver',
                                      retryable=False, status_code=501)

    def ensure_flavor(self, flavor_id: str, name: str, vcpus: int, ram: int,
                      disk: int, extra_specs: dict, project_id: str,
                      ephemeral: int = 0) -> Flavor:
        """A private flavor with this id, usable by ``project_id`` only, with these
        extra specs (set again if it exists). Idempotent."""
        raise exceptions.ComputeError('flavors are not supported by this driver',
                                      retryable=False, status_code=501)

    def delete_flavor(self, flavor_id: str) -> None:
        """Delete the flavor; no error if it is gone. Idempotent."""
        raise exceptions.ComputeError('flavors are not supported by this driver',
                                      retryable=False, status_code=501)

    def list_servers_with_flavor(self, flavor_id: str) -> list[Server]:
        """The servers of every project booted with the flavor."""
        raise exceptions.ComputeError('flavors are not supported by this driver',
                                      retryable=False, status_code=501)

    def ensure_server_group(self, name: str, policy: str) -> str:
        """The id of the server group ``name`` of the caller's project with
        ``policy`` (``affinity`` or ``anti-affinity``), created if missing.
        Idempotent (found by name)."""
        raise exceptions.ComputeError('server groups are not supported by this driver',
                                      retryable=False, status_code=501)

    def delete_server_group(self, group_id: str) -> None:
        """Delete the server group; no error if it is gone. Idempotent."""
        raise exceptions.ComputeError('server groups are not supported by this driver',
                                      retryable=False, status_code=501)

    # --- Placement (capacity reservations) --------------------------------------------
    # Not abstract, as flavors. ``node`` is the compute node (``hypervisor_hostname``,
    # the name of its resource provider in Placement).

    def set_reservation_inventory(self, node: str, resource_class: str,
                                  total: int) -> None:
        """``node`` offers exactly ``total`` units of the custom ``resource_class``
        (created if missing) to boots asking for it (0: none). Idempotent.

        :raises HypervisorNotFound: ``total`` > 0 and Placement does not know ``node``.
        """
        raise exceptions.ComputeError('Placement is not supported by this driver',
                                      retryable=False, status_code=501)

    def remove_reservation_inventory(self, node: str, resource_class: str) -> bool:
        """``node`` offers no unit of ``resource_class`` any more; no error when the
        node or the inventory is gone. Idempotent. When servers still hold units
        (Placement cannot drop them), the inventory stays but offers nothing new and
        the answer is False (call again once those servers are gone)."""
        raise exceptions.ComputeError('Placement is not supported by this driver',
                                      retryable=False, status_code=501)

    def delete_resource_class(self, resource_class: str) -> None:
        """Remove ``resource_class`` and any inventory of it left on any node (no
        error if gone). Idempotent; a class some server still holds stays (logged)."""
        raise exceptions.ComputeError('Placement is not supported by this driver',
                                      retryable=False, status_code=501)

    def overclaimed_units(self) -> list:
        """``[(provider name, resource class, used, total)]`` of every reservation
        provider whose servers hold more units than it offers (Placement let racing
        claims through). Empty for a driver without Placement."""
        return []

    # --- acting for a user (Keystone trusts) ------------------------------------------

    #: Whether ``create_trust`` can ever give a trust this driver can act with.
    supports_trusts = False

    def create_trust(self, context) -> str | None:
        """Delegate the requesting user's roles in their project to the account this
        driver acts with, for as long as a lease needs them.

        Uses the user's own token (``context.auth_token``): only the user can delegate.
        Returns the trust id, or None when this driver has no Keystone or the request
        carries no token (noauth).

        :raises ComputeError: Keystone refused or could not be reached.
        """
        return None

    def delete_trust(self, trust_id: str) -> None:
        """Revoke a trust made by ``create_trust``; no error if it is already gone.

        :raises ComputeError:
        """

    def acting_for(self, trust_id: str) -> 'ComputeDriver':
        """A driver making the same calls with the authority the trust delegates:
        Nova then sees the user (what they create is theirs, e.g. a snapshot's image
        belongs to their project). A revoked trust makes its calls fail with
        ``ComputeError`` status 401 or 403."""
        return self

    # --- waiting (shared) --------------------------------------------------------------

    def wait_for_server(self, server_id, statuses, timeout=None, poll_interval=None):
        """Poll until the server has one of ``statuses`` and no task in progress.

        Transient errors while polling are tolerated until the deadline.

        :returns: the Server.
        :raises ComputeError: (not retryable) the server went to ERROR unexpectedly.
        :raises ServerNotFound: the server disappeared.
        :raises ComputeTimeout: the deadline passed.
        """
        wanted = {statuses.upper()} if isinstance(statuses, str) else {
            s.upper() for s in statuses}

        def check():
            server = self.get_server(server_id)
            if server.status in wanted and server.task_state is None:
                return server
            if server.status == ERROR and server.task_state is None:
                raise exceptions.ComputeError(
                    f'Server {server_id} went to ERROR instead of '
                    f'{"/".join(sorted(wanted))}: {server.fault or "no fault recorded"}')
            return None

        return self._poll(check, timeout, poll_interval,
                          f'server {server_id} to reach {"/".join(sorted(wanted))}')

    def wait_for_server_gone(self, server_id, timeout=None, poll_interval=None):
        """Poll until the server no longer exists (after ``delete_server``).

        :raises ComputeError: (retryable) the deletion failed and the server went to
            ERROR: deleting it again may succeed.
        :raises ComputeTimeout:
        """
        def check():
            try:
                server = self.get_server(server_id)
            except exceptions.ServerNotFound:
                return True
            if server.status == DELETED:
                return True
            if server.status == ERROR and server.task_state is None:
                raise exceptions.ComputeError(
                    f'Deleting server {server_id} failed: '
                    f'{server.fault or "no fault recorded"}', retryable=True)
            return None

        self._poll(check, timeout, poll_interval, f'server {server_id} to be deleted')

    def wait_for_image(self, image_id, statuses=(IMAGE_ACTIVE,), timeout=None,
                       poll_interval=None):
        """Poll until the image has one of ``statuses``; returns that status.

        :raises ComputeError: (not retryable) the image went to killed/deleted.
        :raises ImageNotFound:
        :raises ComputeTimeout:
        """
        wanted = {statuses.lower()} if isinstance(statuses, str) else {
            s.lower() for s in statuses}

        def check():
            status = self.get_image_status(image_id)
            if status in wanted:
                return status
            if status in IMAGE_FAILED_STATUSES:
                raise exceptions.ComputeError(
                    f'Image {image_id} is {status} instead of '
                    f'{"/".join(sorted(wanted))}')
            return None

        return self._poll(check, timeout, poll_interval,
                          f'image {image_id} to reach {"/".join(sorted(wanted))}')

    def _poll(self, check, timeout, poll_interval, what):
        timeout = self.wait_timeout if timeout is None else timeout
        interval = self.poll_interval if poll_interval is None else poll_interval
        deadline = self._clock() + timeout
        last_error = None
        while True:
            try:
                result = check()
            except exceptions.ComputeError as error:
                if not error.retryable or isinstance(error, exceptions.NotFound):
                    raise
                last_error = error
            else:
                if result is not None:
                    return result
            remaining = deadline - self._clock()
            if remaining <= 0:
                detail = f' (last error: {last_error.message})' if last_error else ''
                raise exceptions.ComputeTimeout(
                    f'Timed out after {timeout:g} s waiting for {what}{detail}')
            self._sleep(min(interval, remaining))
