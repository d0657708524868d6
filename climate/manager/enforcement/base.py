"""What every usage-policy filter is: its hooks, and how it refuses a lease.

A filter sees leases as plain dicts: ``id`` (None before creation), ``name``,
``project_id``, ``user_id``, ``start_date`` and ``end_date`` (aware UTC datetimes) and
``reservations`` (a list of dicts: the request's fields, ``resource_type`` first, and
for a stored lease its ``id`` and ``allocations``).

Two moments of a request reach a filter:

* before the lease's transaction, :meth:`Filter.check_create` /
  :meth:`Filter.check_update`: rules on the request alone (its dates, the answer of an
  outside service). Nothing is written yet.
* inside the transaction that claims the capacity, after the plugins claimed it,
  :meth:`Filter.check_claim` for the filters whose ``in_claim`` is True: rules on what
  the project holds (counts, quotas), read under the project's lock
  (``climate.db.project_usage.lock``) so that concurrent requests of one project are
  counted one after the other. Raising rolls the whole lease (or change) back.

A filter refuses with :func:`refuse`: a 403 whose message names the limit.
"""

from climate import exceptions


def refuse(rule, reason, **details):
    """Raise the 403 of ``rule``: ``reason`` is the message shown to the user."""
    raise exceptions.UsageLimitExceeded(rule=rule, reason=reason,
                                        details=details or None)


class Filter:
    #: The name of the filter in ``[enforcement] enabled_filters``.
    name = None
    #: True when :meth:`check_claim` must run inside the claim's transaction.
    in_claim = False

    def __init__(self, conf):
        self.conf = conf
        self.options = conf.enforcement

    def exempt(self, project_id):
        """Climate's own filters leave ``[enforcement] exempt_project_ids`` alone."""
        return project_id in self.options.exempt_project_ids

    def check_create(self, context, lease):
        """Refuse a new lease (before its transaction)."""

    def check_update(self, context, current, lease):
        """Refuse a change: ``current`` is the lease as stored, ``lease`` as it would
        become (a prolongation is a new request: both windows are given)."""

    def check_claim(self, context, lease, current=None):
        """Refuse from inside the claim's transaction (``context.session``); ``lease``
        is the lease as it will be committed, ``current`` as it was (updates)."""

    def on_end(self, context, lease):
        """The lease has ended (best effort: a failure is only logged)."""
