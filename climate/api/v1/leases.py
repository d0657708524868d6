"""``/v1/leases``: list, create, show, update and delete leases.

Show, update and delete first read the lease, so the policy target is the lease's own
project: another project's lease answers 403, as Blazar does. Listing is limited to the
caller's project unless ``climate:leases:get_all_projects`` allows more; it also takes
``limit``/``marker`` (pages of at most ``[api] max_limit`` leases, with a ``next``
link in ``leases_links`` when there may be more), ``sort_key``/``sort_dir`` and
``status``/``name``/``project_id`` filters (none of which Blazar's clients send; the
manager checks the sort). A ``marker`` that is no lease the caller may list answers
400, the same for an unknown id and another project's lease.

``POST`` takes an ``Idempotency-Key`` header (1 to 255 printable ASCII characters):
the manager answers a retry with the same key and body with the lease the first
request made (see ``doc/source/reference/api.rst``).

Bodies are checked against :mod:`lease_schemas` (shape only) and passed on: the manager
parses and checks the dates, the plugins their reservation fields.
"""

import re

import pecan

from climate import exceptions
from climate.api.v1 import common
from climate.api.v1 import lease_schemas as schemas
from climate.api.v1 import usage
from climate.common import idempotency
from climate.common import limits

LIST_FILTERS = ('status', 'name', 'marker', 'sort_key', 'sort_dir')
_LEASE_ID = re.compile('[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')


def _target(lease):
    return {'project_id': lease.get('project_id'), 'user_id': lease.get('user_id')}


def _values(body, keys):
    """What the manager gets: the keys it reads, as sent (it parses the dates and the
    plugins the reservation fields)."""
    return {k: body[k] for k in keys if k in body}


class LeaseController:
    """One lease: ``/v1/leases/{lease_id}``."""

    def __init__(self, lease_id):
        self.lease_id = lease_id

    def _lease(self, rule):
        # Only a canonical UUID names a lease: no alias through spaces or case.
        if not _LEASE_ID.fullmatch(self.lease_id):
            raise exceptions.LeaseNotFound(lease_id=limits.quote(self.lease_id, 64))
        lease = common.manager().get_lease(common.context(), self.lease_id)
        common.authorize(rule, _target(lease))
        return lease

    @common.resource()
    def index(self):
        common.not_allowed()

    @index.when(**common.method('GET'))
    def show(self):
        return common.reply({'lease': self._lease('climate:leases:get')})

    @index.when(**common.method('PUT'))
    def update(self):
        self._lease('climate:leases:put')
        values = _values(common.body(schemas.UPDATE), schemas.UPDATE_KEYS)
        lease = common.naming_the_date(common.manager().update_lease, common.context(),
                                 self.lease_id, values)
        return common.reply({'lease': lease})

    @index.when(**common.method('DELETE'))
    def delete(self):
        self._lease('climate:leases:delete')
        common.manager().delete_lease(common.context(), self.lease_id)
        return common.no_content()


class LeasesController:
    """The collection: ``/v1/leases`` (and ``/v1/leases/check``, usage policy)."""

    check = usage.LeaseCheckController()

    @common.resource()
    def index(self):
        common.not_allowed()

    @index.when(**common.method('GET'))
    def list(self):
        common.authorize('climate:leases:get')
        request = pecan.request
        ctxt = common.context()
        filters = {key: request.GET[key] for key in LIST_FILTERS if key in request.GET}
        limit = filters['limit'] = common.page_limit()
        project_id = request.GET.get('project_id')
        if common.allowed('climate:leases:get_all_projects'):
            if project_id:
                filters['project_id'] = project_id
        elif project_id and project_id != ctxt.project_id:
            raise exceptions.PolicyNotAuthorized(action='climate:leases:get_all_projects')
        else:
            filters['project_id'] = ctxt.project_id
        page = common.manager().list_leases_page(ctxt, filters)
        return common.encoded_page_reply('leases', page, limit)

    @index.when(**common.method('POST'))
    def create(self):
        common.authorize('climate:leases:post')
        key = pecan.request.headers.get(idempotency.HEADER)
        if key is not None:
            idempotency.check(key)
        values = _values(common.body(schemas.CREATE), schemas.CREATE_KEYS)
        if key is None:
            lease = common.naming_the_date(common.manager().create_lease, common.context(),
                                     values)
        else:
            lease = common.naming_the_date(common.manager().create_lease, common.context(),
                                     values, key)
        return common.reply({'lease': lease}, status=201)

    @pecan.expose()
    def _lookup(self, lease_id, *remainder):
        return LeaseController(lease_id), remainder
