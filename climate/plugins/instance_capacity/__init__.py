"""Capacity reservations: ``amount`` instances of a size on slices of hosts
(``virtual:instance`` without ``resource_id``, and ``flavor:instance``)."""
