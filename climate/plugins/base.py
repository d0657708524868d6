"""The interface every resource plugin implements.

The manager calls a plugin at these points of a reservation's life, in this order:

``validate``   check and normalise the request body of one reservation (4xx errors);
``new_resource_id`` (optional) the ``resource_id`` ``reserve`` will set, so that the
               reservation's row is inserted with it;
``reserve``    inside the lease's database transaction: claim capacity for the window
               (allocation rows). Raising rolls the whole lease back;
``prepare``    after that transaction committed: side effects outside the database
               that must exist from creation on (e.g. an aggregate, a shelved server);
``snapshot``   inside the update transaction, before ``update``: what ``restore``
               needs to put the plugin's rows back as they are;
``update``     inside the update transaction: re-check capacity for the new window;
``after_update`` after it committed: make Nova follow the database (e.g. add hosts
               now); it is also run after ``restore``, so it must converge both ways;
``restore``    only when an ``after_update`` of the lease failed: in a transaction of
               its own, put back the rows ``snapshot`` saw (claiming any capacity it
               takes back);
``on_start`` / ``before_end`` / ``on_end``  the lease's events;
``release``    undo ``prepare`` for a reservation that never started (lease deleted
               early, or creation rolled back).

``reserve`` and ``update`` get the ORM rows of the open transaction; every other method
gets plain dicts (lease: ``id``, ``name``, ``project_id``, ``user_id``, ``trust_id``,
``start_date``, ``end_date`` as aware UTC datetimes; reservation: ``id``, ``lease_id``,
``resource_type``, ``resource_id``, ``status``, and for ``prepare`` also ``values``,
what ``validate`` returned and ``reserve`` got), so a plugin never holds ORM objects
outside a transaction. Every method that acts outside the
database must be idempotent: the event engine retries and other managers take over.
"""

import abc


class ResourcePlugin(abc.ABC):
    #: The ``resource_type`` of the reservations this plugin handles.
    resource_type = None
    #: Plugin methods the REST API may call through the manager (e.g. host listing).
    rpc_methods = frozenset()
    #: True for plugins that act on Nova: the loader then passes the manager's one
    #: compute driver as ``compute_driver=``.
    uses_compute = False
    #: True for plugins that act on Nova with the lease owner's authority (through
    #: ``compute.acting_for(lease['trust_id'])``): a lease with one of their
    #: reservations gets a Keystone trust from its creator.
    acts_for_owner = False

    def __init__(self, conf):
        self.conf = conf

    @abc.abstractmethod
    def validate(self, context, values):
        """Return the normalised reservation values or raise a 4xx ClimateException.

        ``context`` is the caller's (``project_id``, ``user_id``, ``is_admin``, …); the
        lease will belong to ``context.project_id``.
        """

    @abc.abstractmethod
    def reserve(self, context, lease, reservation, values):
        """Claim capacity inside the create transaction (``context.session``).

        ``lease`` and ``reservation`` are the ORM rows being created; set
        ``reservation.resource_id`` if the plugin keeps a row of its own.
        """

    def prepare(self, context, lease, reservation):
        """Side effects after creation; undone by :meth:`release`. A plugin that
        does not override it has none (see :func:`prepares`)."""

    def prepares_for(self, values):
        """Whether :meth:`prepare` has work for a reservation of ``values`` (what
        :meth:`validate` returned); asked only of plugins that override it."""
        return True

    def update(self, context, lease, reservation, values, start_date, end_date):
        """Re-check capacity for a changed window or values (inside a transaction)."""
        if values:
            from climate import exceptions
            raise exceptions.CantUpdateParameter(param=', '.join(sorted(values)))

    def snapshot(self, context, reservation):
        """What :meth:`restore` needs to undo :meth:`update` (inside its transaction,
        before it; ``reservation`` is the ORM row)."""
        return None

    def restore(self, context, reservation, saved):
        """Put the plugin's rows back as :meth:`snapshot` saw them (inside a
        transaction; ``reservation`` is the ORM row). Capacity it takes back must be
        claimed as ``reserve`` does; raise ``ClaimConflict`` to be run again on fresh
        data, or a 409 when the capacity is gone."""

    def after_update(self, context, lease, reservation):
        """Make the outside world follow the reservation as stored, after an update
        committed or was undone (idempotent)."""

    @abc.abstractmethod
    def on_start(self, context, lease, reservation):
        """Make the capacity the lease's (idempotent)."""

    def before_end(self, context, lease, reservation):
        """Act shortly before the end (e.g. snapshots); idempotent."""

    @abc.abstractmethod
    def on_end(self, context, lease, reservation):
        """Take the capacity back (idempotent)."""

    def release(self, context, lease, reservation):
        """Undo :meth:`prepare` for a reservation that never started (idempotent)."""

    def details(self, context, reservations):
        """Extra output fields of each reservation: ``{reservation_id: {...}}``."""
        return {}

    def new_resource_id(self, values):
        """The ``resource_id`` :meth:`reserve` will give a reservation of ``values``,
        when the plugin can say it before (the reservation's row is then inserted
        with it, not updated after ``reserve``); None when it cannot. ``reserve``
        then keeps the ``resource_id`` it finds set."""
        return None

    def created_details(self, reservation, values):
        """What :meth:`details` will answer for ``reservation`` (the ORM row) that
        :meth:`reserve` has just made of ``values``, without reading it back; None
        when the plugin cannot say (the create's answer then asks :meth:`details`)."""
        return None

    # Availability (optional) ------------------------------------------------------------
    #: True for plugins that answer :meth:`find_windows` and :meth:`busy`.
    searches_availability = False

    def find_windows(self, context, values, duration, start_after, end_before, limit):
        """Up to ``limit`` windows of ``duration`` inside ``[start_after,
        end_before]`` in which a reservation of ``values`` (what :meth:`validate`
        returned) would be accepted now, earliest first: a list of
        ``climate.db.availability.Window`` (``hosts`` may be empty for resource types
        that do not name hosts). Runs in the caller's transaction when there is one
        (the earliest-fit create searches and claims in one)."""
        raise NotImplementedError

    def busy(self, context, values, start, end, host_ids=None):
        """``(hosts, busy)`` of ``climate.db.availability.busy_in_range`` for the
        hosts that could serve ``values`` (or ``host_ids``) over ``[start, end)``."""
        raise NotImplementedError

    def usages(self, context, project_id, start, end):
        """What this plugin's reservations of ``project_id`` whose lease overlaps
        ``[start, end)`` hold while their lease runs, for quotas (inside a
        transaction): ``(lease_id, lease start, lease end, {resource_name: amount})``
        for each reservation, resource names being the quota's (``hosts``,
        ``vcpus``, ``memory_mb``...). Reservations that hold nothing counted may be
        left out.
        """
        return []

    def hours_used(self, context, project_id, start, end, exclude_lease_id=None):
        """``{resource_hours: amount × hours}`` this plugin's reservations of
        ``project_id`` hold inside ``[start, end)`` (``host_hours``, ``vcpu_hours``
        ...), leaving out the lease ``exclude_lease_id`` (inside a transaction).
        Summed by the database: a period may hold thousands of reservations."""
        return {}


def created_details(plugin, reservation, values):
    """``plugin.created_details``, or None for a plugin without it (not derived
    from :class:`ResourcePlugin`)."""
    method = getattr(plugin, 'created_details', None)
    return None if method is None else method(reservation, values)


def new_resource_id(plugin, values):
    """``plugin.new_resource_id``, or None for a plugin without it."""
    method = getattr(plugin, 'new_resource_id', None)
    return None if method is None else method(values)


def prepares(plugin, values=None):
    """Whether ``plugin`` has side effects at create (overrides ``prepare``) — for a
    reservation of ``values``, when given (:meth:`ResourcePlugin.prepares_for`): a
    lease without any is inserted PENDING at once, never CREATING."""
    if type(plugin).prepare is ResourcePlugin.prepare:
        return False
    method = getattr(plugin, 'prepares_for', None)
    return values is None or method is None or bool(method(values))
