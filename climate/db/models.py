"""SQLAlchemy models of Climate's tables (see doc/source/architecture.md, "Data model").

The alembic migrations in ``climate/db/migration`` create exactly this schema; a test
compares the two on every backend.
"""

import uuid

import sqlalchemy as sa
from sqlalchemy import orm

from climate.common import timeutils
from climate.db.types import UTCDateTime

# Explicit constraint names so that migrations can refer to them on every backend.
NAMING_CONVENTION = {
    'ix': 'ix_%(table_name)s_%(column_0_N_name)s',
    'uq': 'uq_%(table_name)s_%(column_0_N_name)s',
    'fk': 'fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s',
    'pk': 'pk_%(table_name)s',
}


def _uuid():
    return str(uuid.uuid4())


def new_id():
    """A new row id, for code that needs it before the row is flushed."""
    return _uuid()


class Base(orm.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at = sa.Column(UTCDateTime, nullable=False, default=timeutils.utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=True, onupdate=timeutils.utcnow)


class Lease(TimestampMixin, Base):
    __tablename__ = 'leases'

    id = sa.Column(sa.String(36), primary_key=True, default=_uuid)
    name = sa.Column(sa.String(80), nullable=False)
    project_id = sa.Column(sa.String(255), nullable=False, index=True)
    user_id = sa.Column(sa.String(255), nullable=True)
    start_date = sa.Column(UTCDateTime, nullable=False)
    end_date = sa.Column(UTCDateTime, nullable=False)
    status = sa.Column(sa.String(32), nullable=False)
    status_reason = sa.Column(sa.Text, nullable=True)
    trust_id = sa.Column(sa.String(36), nullable=True)
    degraded = sa.Column(sa.Boolean, nullable=False, default=False)

    reservations = orm.relationship('Reservation', back_populates='lease',
                                    cascade='all, delete-orphan', lazy='selectin',
                                    order_by='Reservation.created_at')
    events = orm.relationship('Event', back_populates='lease',
                              cascade='all, delete-orphan', lazy='selectin',
                              order_by='Event.time')


class Reservation(TimestampMixin, Base):
    __tablename__ = 'reservations'

    id = sa.Column(sa.String(36), primary_key=True, default=_uuid)
    lease_id = sa.Column(sa.String(36), sa.ForeignKey('leases.id', ondelete='CASCADE'),
                         nullable=False, index=True)
    resource_type = sa.Column(sa.String(66), nullable=False)
    resource_id = sa.Column(sa.String(36), nullable=True)
    status = sa.Column(sa.String(32), nullable=False)
    missing_resources = sa.Column(sa.Boolean, nullable=False, default=False)
    resources_changed = sa.Column(sa.Boolean, nullable=False, default=False)

    lease = orm.relationship('Lease', back_populates='reservations')


class Event(TimestampMixin, Base):
    __tablename__ = 'events'
    __table_args__ = (
        sa.Index('ix_events_status_due_at', 'status', 'due_at'),
        sa.Index('ix_events_type_status_time', 'event_type', 'status', 'time'),
    )

    id = sa.Column(sa.String(36), primary_key=True, default=_uuid)
    lease_id = sa.Column(sa.String(36), sa.ForeignKey('leases.id', ondelete='CASCADE'),
                         nullable=False, index=True)
    event_type = sa.Column(sa.String(66), nullable=False)
    time = sa.Column(UTCDateTime, nullable=False)
    # When the engine may next run the event: ``time`` at first, later after a retry
    # back-off. Kept apart from ``time`` so that users always see the scheduled time.
    due_at = sa.Column(UTCDateTime, nullable=False)
    status = sa.Column(sa.String(32), nullable=False)
    owner = sa.Column(sa.String(255), nullable=True)
    claimed_at = sa.Column(UTCDateTime, nullable=True)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    error = sa.Column(sa.Text, nullable=True)

    lease = orm.relationship('Lease', back_populates='events')


class ResourceProperty(TimestampMixin, Base):
    """A capability name that hosts may carry; ``private`` hides it from non-admins."""

    __tablename__ = 'resource_properties'
    __table_args__ = (
        sa.UniqueConstraint('resource_type', 'property_name'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    resource_type = sa.Column(sa.String(66), nullable=False)
    property_name = sa.Column(sa.String(64), nullable=False)
    private = sa.Column(sa.Boolean, nullable=False, default=False)


class ComputeHost(TimestampMixin, Base):
    """An enrolled hypervisor. ``id`` is Climate's own number: Blazar's clients want
    numeric host ids, while Nova's hypervisor ids are UUIDs today."""

    __tablename__ = 'computehosts'
    __table_args__ = (
        # Smallest hosts first: the capacity search's scan for empty hosts stops
        # after the few it needs (climate.db.capacity_search.find_room_quickly).
        sa.Index('ix_computehosts_size', 'vcpus', 'memory_mb', 'local_gb', 'id'),
        # MAX(longest_allocation) in one index probe (climate.db.claims.longest).
        sa.Index('ix_computehosts_longest_allocation', 'longest_allocation'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    hypervisor_id = sa.Column(sa.String(36), nullable=True)
    hypervisor_hostname = sa.Column(sa.String(255), nullable=False, unique=True)
    service_name = sa.Column(sa.String(255), nullable=True)
    vcpus = sa.Column(sa.Integer, nullable=False, default=0)
    memory_mb = sa.Column(sa.Integer, nullable=False, default=0)
    local_gb = sa.Column(sa.Integer, nullable=False, default=0)
    cpu_info = sa.Column(sa.Text, nullable=True)
    hypervisor_type = sa.Column(sa.String(255), nullable=True)
    hypervisor_version = sa.Column(sa.BigInteger, nullable=True)
    availability_zone = sa.Column(sa.String(255), nullable=True)
    status = sa.Column(sa.String(32), nullable=True)
    trust_id = sa.Column(sa.String(36), nullable=True)
    reservable = sa.Column(sa.Boolean, nullable=False, default=True)
    # Why ``status`` is 'down' (the compute service's state), for operators.
    status_reason = sa.Column(sa.Text, nullable=True)
    # Bumped by every allocation change on this host: the compare-and-update token of
    # the atomic claim (invariant 1).
    generation = sa.Column(sa.Integer, nullable=False, default=0)
    # Seconds: no allocation (whole or slice) this host has ever held was longer.
    # Set by the claim, never lowered; it bounds the searches' range scans from below
    # (climate.db.claims.longest).
    longest_allocation = sa.Column(sa.BigInteger, nullable=False, default=0,
                                   server_default='0')

    extra_capabilities = orm.relationship('ComputeHostExtraCapability',
                                          cascade='all, delete-orphan', lazy='selectin')


class ComputeHostExtraCapability(TimestampMixin, Base):
    __tablename__ = 'computehost_extra_capabilities'
    __table_args__ = (
        sa.UniqueConstraint('computehost_id', 'property_id'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    computehost_id = sa.Column(sa.Integer,
                               sa.ForeignKey('computehosts.id', ondelete='CASCADE'),
                               nullable=False)
    property_id = sa.Column(sa.Integer, sa.ForeignKey('resource_properties.id'),
                            nullable=False, index=True)
    capability_value = sa.Column(sa.Text, nullable=False)
    # The value as a number when it reads as one (``"10"``, ``"2.5"``), else NULL:
    # requirements compare numbers as numbers (``10 > 9``), in SQL, on every backend.
    capability_number = sa.Column(sa.Double, nullable=True)

    property = orm.relationship('ResourceProperty', lazy='joined')


class ComputeHostReservation(TimestampMixin, Base):
    __tablename__ = 'computehost_reservations'

    id = sa.Column(sa.String(36), primary_key=True, default=_uuid)
    reservation_id = sa.Column(sa.String(36),
                               sa.ForeignKey('reservations.id', ondelete='CASCADE'),
                               nullable=False, unique=True)
    aggregate_id = sa.Column(sa.Integer, nullable=True)
    count_range = sa.Column(sa.String(36), nullable=True)
    hypervisor_properties = sa.Column(sa.Text, nullable=True)
    resource_properties = sa.Column(sa.Text, nullable=True)
    before_end = sa.Column(sa.String(36), nullable=True)
    # 'keep' or NULL ('replace'): what healing does when a held host fails.
    on_host_failure = sa.Column(sa.String(16), nullable=True)


class HostWindowMixin:
    """What a host's allocation holds in common, whole or sliced: the host, the
    reservation, and the window ``[start_date, end_date)`` copied from the lease so
    that "is this host free in [a, b)" is a single range query on the
    ``ix_<table>_host_window`` index, and "what overlaps [a, b) on any host" one on
    ``ix_<table>_window`` (bounded below by the longest allocation,
    :func:`climate.db.claims.longest`)."""

    @orm.declared_attr.directive
    def __table_args__(cls):
        return (sa.Index(f'ix_{cls.__tablename__}_host_window',
                         'compute_host_id', 'start_date', 'end_date'),
                sa.Index(f'ix_{cls.__tablename__}_window',
                         'start_date', 'end_date', 'compute_host_id'))

    # Columns made per table (a ForeignKey cannot be shared), first in each table.
    @orm.declared_attr
    def id(cls):
        return orm.mapped_column(sa.String(36), primary_key=True, default=_uuid,
                                 sort_order=-5)

    @orm.declared_attr
    def compute_host_id(cls):
        return orm.mapped_column(sa.Integer, sa.ForeignKey('computehosts.id'),
                                 nullable=False, sort_order=-4)

    @orm.declared_attr
    def reservation_id(cls):
        return orm.mapped_column(sa.String(36),
                                 sa.ForeignKey('reservations.id', ondelete='CASCADE'),
                                 nullable=False, index=True, sort_order=-3)

    @orm.declared_attr
    def start_date(cls):
        return orm.mapped_column(UTCDateTime, nullable=False, sort_order=-2)

    @orm.declared_attr
    def end_date(cls):
        return orm.mapped_column(UTCDateTime, nullable=False, sort_order=-1)


class ComputeHostAllocation(HostWindowMixin, TimestampMixin, Base):
    """One host held whole by one reservation for ``[start_date, end_date)``."""

    __tablename__ = 'computehost_allocations'


class HostMaintenance(TimestampMixin, Base):
    """A host out of service for ``[start_date, end_date)`` (an admin's window)."""

    __tablename__ = 'host_maintenances'
    __table_args__ = (
        sa.Index('ix_host_maintenances_host_window',
                 'compute_host_id', 'start_date', 'end_date'),
    )

    id = sa.Column(sa.String(36), primary_key=True, default=_uuid)
    compute_host_id = sa.Column(sa.Integer,
                                sa.ForeignKey('computehosts.id', ondelete='CASCADE'),
                                nullable=False)
    start_date = sa.Column(UTCDateTime, nullable=False)
    end_date = sa.Column(UTCDateTime, nullable=False)
    reason = sa.Column(sa.Text, nullable=True)


class HealingRecord(TimestampMixin, Base):
    """One thing healing did to a reservation: a host replaced, the reservation
    degraded, or whole again. The host ids are kept without a foreign key: the
    record outlives a deleted host."""

    __tablename__ = 'healing_records'

    id = sa.Column(sa.String(36), primary_key=True, default=_uuid)
    lease_id = sa.Column(sa.String(36), sa.ForeignKey('leases.id', ondelete='CASCADE'),
                         nullable=False, index=True)
    reservation_id = sa.Column(sa.String(36),
                               sa.ForeignKey('reservations.id', ondelete='CASCADE'),
                               nullable=False, index=True)
    action = sa.Column(sa.String(32), nullable=False)
    failed_host_id = sa.Column(sa.Integer, nullable=True)
    new_host_id = sa.Column(sa.Integer, nullable=True)
    reason = sa.Column(sa.Text, nullable=True)


class InstanceReservation(TimestampMixin, Base):
    """A virtual:instance reservation: an existing server (shelving mode) or, later,
    a capacity of vcpus/memory_mb/disk_gb × amount (capacity mode)."""

    __tablename__ = 'instance_reservations'

    id = sa.Column(sa.String(36), primary_key=True, default=_uuid)
    reservation_id = sa.Column(sa.String(36),
                               sa.ForeignKey('reservations.id', ondelete='CASCADE'),
                               nullable=False, unique=True)
    server_id = sa.Column(sa.String(36), nullable=True, index=True)
    on_end = sa.Column(sa.String(36), nullable=True)
    vcpus = sa.Column(sa.Integer, nullable=True)
    memory_mb = sa.Column(sa.Integer, nullable=True)
    disk_gb = sa.Column(sa.Integer, nullable=True)
    amount = sa.Column(sa.Integer, nullable=True)
    affinity = sa.Column(sa.Boolean, nullable=True)
    resource_properties = sa.Column(sa.Text, nullable=True)
    flavor_id = sa.Column(sa.String(36), nullable=True)
    # Shelving mode: what the reservation does and has done to its server.
    before_end = sa.Column(sa.String(36), nullable=True)       # default | snapshot
    server_status = sa.Column(sa.String(36), nullable=True)    # when it was reserved
    shelve = sa.Column(sa.Boolean, nullable=True)              # Climate shelves it
    deleting = sa.Column(sa.Boolean, nullable=True)            # its delete was asked
    before_end_snapshot = sa.Column(sa.String(36), nullable=True)   # image ids
    on_end_snapshot = sa.Column(sa.String(36), nullable=True)
    aggregate_id = sa.Column(sa.Integer, nullable=True)
    server_group_id = sa.Column(sa.String(36), nullable=True)


class CapacityReservation(TimestampMixin, Base):
    """A capacity reservation (``virtual:instance`` without ``resource_id``, or
    ``flavor:instance``): ``amount`` instances of ``vcpus``/``memory_mb``/``disk_gb``,
    and the Nova objects made for it (flavor id = reservation id)."""

    __tablename__ = 'capacity_reservations'

    id = sa.Column(sa.String(36), primary_key=True, default=_uuid)
    reservation_id = sa.Column(sa.String(36),
                               sa.ForeignKey('reservations.id', ondelete='CASCADE'),
                               nullable=False, unique=True)
    resource_type = sa.Column(sa.String(66), nullable=False)
    vcpus = sa.Column(sa.Integer, nullable=False)
    memory_mb = sa.Column(sa.Integer, nullable=False)
    disk_gb = sa.Column(sa.Integer, nullable=False)
    amount = sa.Column(sa.Integer, nullable=False)
    affinity = sa.Column(sa.Boolean, nullable=True)
    resource_properties = sa.Column(sa.Text, nullable=True)
    source_flavor_id = sa.Column(sa.String(255), nullable=True)   # flavor:instance
    extra_specs = sa.Column(sa.Text, nullable=True)               # JSON, copied
    aggregate_id = sa.Column(sa.Integer, nullable=True)
    server_group_id = sa.Column(sa.String(36), nullable=True)
    on_host_failure = sa.Column(sa.String(16), nullable=True)     # NULL: replace
    on_end = sa.Column(sa.String(32), nullable=True)              # NULL: delete


class CapacityAllocation(HostWindowMixin, TimestampMixin, Base):
    """A slice of one host held by one capacity reservation for ``[start_date,
    end_date)``: ``instances`` instances, and their summed vcpus/memory/disk."""

    __tablename__ = 'capacity_allocations'

    instances = sa.Column(sa.Integer, nullable=False)
    vcpus = sa.Column(sa.Integer, nullable=False)
    memory_mb = sa.Column(sa.Integer, nullable=False)
    disk_gb = sa.Column(sa.Integer, nullable=False)


class Manager(Base):
    """A running ``climate-manager``'s liveness row, heart-beaten every
    ``[manager] liveness_interval``; the claims of an owner whose row is missing or
    silent for ``[manager] liveness_timeout`` are taken over (``climate.db.events``)."""

    __tablename__ = 'managers'

    owner = sa.Column(sa.String(255), primary_key=True)
    host = sa.Column(sa.String(255), nullable=False)
    pid = sa.Column(sa.Integer, nullable=False)
    started_at = sa.Column(UTCDateTime, nullable=False)
    heartbeat_at = sa.Column(UTCDateTime, nullable=False)


class IdempotencyKey(Base):
    """An ``Idempotency-Key`` a project sent with ``POST /v1/leases``: a retry with the
    same key and the same body gets the lease the first request made.

    Inserted in the transaction that inserts the lease, so both exist or neither;
    ``UNIQUE(project_id, idempotency_key)`` decides between concurrent requests.
    ``lease_id`` is no foreign key: the row outlives a deleted lease, so that a late
    retry is told the lease was deleted instead of making a new one.
    """

    __tablename__ = 'idempotency_keys'
    __table_args__ = (
        sa.UniqueConstraint('project_id', 'idempotency_key'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    project_id = sa.Column(sa.String(255), nullable=False)
    idempotency_key = sa.Column(sa.String(255), nullable=False)
    # sha256 (hex) of the canonical JSON of the lease fields of the request.
    fingerprint = sa.Column(sa.String(64), nullable=False)
    lease_id = sa.Column(sa.String(36), nullable=False, index=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=timeutils.utcnow,
                           index=True)


class ProjectUsageLock(Base):
    """One row per project that usage policy has counted: ``generation`` is bumped by
    every transaction that checks the project's quotas, which serializes them (see
    :mod:`climate.db.project_usage`)."""

    __tablename__ = 'project_usage_locks'

    project_id = sa.Column(sa.String(255), primary_key=True)
    generation = sa.Column(sa.Integer, nullable=False, default=0)
