"""The physical:host resource plugin (entry point ``physical.host.plugin``).

Modules: ``plugin`` (the reservation life cycle), ``admin`` (host enrollment and the
other ``/v1/os-hosts`` RPC methods), ``request`` (request fields), ``requirements``
(Blazar's host query language), ``pools`` (Nova aggregates and servers). The SQL lives
in ``climate.db``: ``hosts`` (enrolled hosts, capabilities), ``host_search`` (free
hosts), ``claims`` (the no-double-booking claim), ``host_allocations`` (allocation rows
and listings) and ``host_reservations`` (the reservations' request rows).
"""
