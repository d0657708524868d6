"""``virtual.instance.plugin``: reserve an existing Nova server for a lease's window.

The original Climate workflow. A user has (or boots) a server they need only between
the lease's start and end:

* when the reservation is made for a later start, the server is shelved (offloaded) and
  marked in its Nova metadata (``climate:lease_id``, ``climate:status=RESERVED``) so that
  its owner sees why; a lease starting now leaves it running;
* at the start it is unshelved, and the start waits until it is ACTIVE
  (``climate:status=ACTIVE``);
* before the end, if the reservation asked for ``before_end: snapshot``, it is
  snapshotted;
* at the end its ``on_end`` action runs: ``snapshot_and_delete`` (default), ``delete``,
  ``shelve`` or ``none``;
* a lease deleted before it starts gives the server back to its owner, unshelved.

A server is held by at most one unfinished reservation at a time;
``climate.db.instance_reservations`` (the plugin's rows) explains how that is enforced
atomically. ``request`` validates what users send, ``servers`` holds every Nova step
(each idempotent, so the event engine may retry it and another manager may take it
over), and ``plugin`` ties them to the manager's call order.
"""
