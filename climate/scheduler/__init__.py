"""Climate's side of nova-scheduler: the ``ClimateFilter`` host filter.

Only ``climate.scheduler.filter`` needs Nova; importing this package (or its ``opts``
module, used by oslo-config-generator) imports neither Nova nor ``climate.conf``.
"""
