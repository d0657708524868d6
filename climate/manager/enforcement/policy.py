"""The usage policy of the lease service: the enabled filters, run at each moment of
a request (see :mod:`climate.manager.enforcement.base`).

The lease service calls :class:`UsagePolicy` at four points: ``check_create`` /
``check_update`` before the lease's transaction, ``lock`` as the first statement of
that transaction and ``check_claim`` at its end (only when a filter counts what the
project holds), and ``on_end`` when a lease has ended. The filters are read from
``[enforcement] enabled_filters`` at each request, so the list may change with a
configuration reload.
"""

from oslo_log import log as logging

from climate.db import project_usage
from climate.manager.enforcement import extension_window
from climate.manager.enforcement import external_service
from climate.manager.enforcement import max_concurrent_leases
from climate.manager.enforcement import max_lead_time
from climate.manager.enforcement import max_lease_duration
from climate.manager.enforcement import quota

LOG = logging.getLogger(__name__)

FILTERS = {cls.name: cls for cls in (
    max_lease_duration.MaxLeaseDurationFilter,
    external_service.ExternalServiceFilter,
    extension_window.ExtensionWindowFilter,
    max_concurrent_leases.MaxConcurrentLeasesFilter,
    max_lead_time.MaxLeadTimeFilter,
    quota.QuotaFilter)}


class UsagePolicy:

    def __init__(self, conf, plugins):
        self.conf = conf
        self.plugins = plugins
        self._built = (None, [])

    # The filters -----------------------------------------------------------------
    def filters(self):
        names = tuple(self.conf.enforcement.enabled_filters)
        if self._built[0] != names:
            self._built = (names, [self._make(name) for name in names])
        return self._built[1]

    def _make(self, name):
        cls = FILTERS[name]
        if cls is quota.QuotaFilter:
            return cls(self.conf, self.plugins)
        return cls(self.conf)

    @property
    def counts_usage(self):
        return any(f.in_claim for f in self.filters())

    # Before the transaction ------------------------------------------------------
    def check_create(self, context, request, values):
        """``request`` is the parsed ``LeaseRequest``, ``values`` the request body."""
        filters = self.filters()
        if not filters:
            return
        lease = {'id': None, 'name': request.name, 'project_id': request.project_id,
                 'user_id': request.user_id, 'start_date': request.start,
                 'end_date': request.end,
                 'reservations': [dict(r) for r in values.get('reservations') or []
                                  if isinstance(r, dict)]}
        for check in filters:
            check.check_create(context, lease)

    def check_update(self, context, stored, change, view):
        """``stored`` is the lease as stored (``climate.db.leases.plain``),
        ``change`` the ``LeaseChange``, ``view()`` returns the lease's API view."""
        filters = self.filters()
        if not filters:
            return
        current = {'id': stored['id'], 'name': stored.get('name'),
                   'project_id': stored['project_id'], 'user_id': stored.get('user_id'),
                   'start_date': stored['start_date'], 'end_date': stored['end_date'],
                   'reservations': [_request_fields(r) for r in view()['reservations']]}
        lease = dict(current, start_date=change.start, end_date=change.end,
                     name=change.name or current['name'],
                     reservations=[dict(r, **change.reservations.get(r['id'], {}))
                                   for r in current['reservations']])
        for check in filters:
            check.check_update(context, current, lease)

    # Inside the transaction ------------------------------------------------------
    def lock(self, context, project_id):
        """First statement of a claiming transaction: serialize the project's claims
        (only when a filter counts what the project holds)."""
        if self.counts_usage:
            project_usage.lock(context, project_id)

    def check_claim(self, context, row, current=None):
        """Last step of a claiming transaction: ``row`` is the lease's ORM row as it
        will be committed, ``current`` the lease as it was (updates)."""
        filters = [f for f in self.filters() if f.in_claim]
        if not filters:
            return
        context.session.flush()
        lease = {'id': row.id, 'name': row.name, 'project_id': row.project_id,
                 'user_id': row.user_id, 'start_date': row.start_date,
                 'end_date': row.end_date}
        for check in filters:
            check.check_claim(context, lease, current)

    # After -----------------------------------------------------------------------
    def on_end(self, context, lease):
        """The lease has ended: tell the filters, logging (never raising) failures."""
        for check in self.filters():
            try:
                check.on_end(context, _ended(lease))
            except Exception:
                LOG.warning('Usage policy %s failed on the end of lease %s', check.name,
                            lease.get('id'), exc_info=True)

    def usage(self, context, project_id, start, end):
        return quota.report(self.conf, self.plugins, context, project_id, start, end)


def _request_fields(reservation):
    """A stored reservation's view without its bookkeeping fields."""
    return {k: v for k, v in reservation.items()
            if k not in ('created_at', 'updated_at', 'lease_id', 'status',
                         'missing_resources', 'resources_changed', 'resource_id')}


def _ended(lease):
    return {'id': lease['id'], 'name': lease.get('name'),
            'project_id': lease['project_id'], 'user_id': lease.get('user_id'),
            'start_date': lease['start_date'], 'end_date': lease['end_date'],
            'reservations': [{'id': r['id'], 'resource_type': r['resource_type']}
                             for r in lease.get('reservations', [])]}
