"""Usage policy on the API: ``POST /v1/leases/check`` asks whether a lease would be
accepted without creating it, ``GET /v1/usage`` shows a project's usage and limits
over a window. Wire format: ``doc/source/reference/api.rst``."""

import pecan

from climate import exceptions
from climate.api.v1 import common
from climate.api.v1 import lease_schemas as schemas


class LeaseCheckController:
    """``/v1/leases/check``: the body of ``POST /v1/leases``; the answer says whether
    that request would be accepted now and, if not, which rule refuses it."""

    @common.resource()
    def index(self):
        common.not_allowed()

    @index.when(**common.method('POST'))
    def check(self):
        common.authorize('climate:leases:check')
        body = common.body(schemas.CREATE)
        values = {k: body[k] for k in schemas.CREATE_KEYS if k in body}
        answer = common.naming_the_date(common.manager().check_lease, common.context(),
                                  values)
        return common.reply({'check': answer})


class UsageController:
    """``/v1/usage?start=&end=[&project_id=]``: the caller's project unless
    ``climate:usage:get_all_projects`` allows another."""

    @common.resource()
    def index(self):
        common.not_allowed()

    @index.when(**common.method('GET'))
    def show(self):
        common.authorize('climate:usage:get')
        ctxt = common.context()
        project_id = pecan.request.GET.get('project_id') or ctxt.project_id
        if project_id != ctxt.project_id:
            common.authorize('climate:usage:get_all_projects',
                             {'project_id': project_id, 'user_id': ctxt.user_id})
        if not project_id:
            raise exceptions.MissingParameter(param='project_id')
        usage = common.naming_the_date(common.manager().get_usage, ctxt, project_id,
                                 pecan.request.GET.get('start'),
                                 pecan.request.GET.get('end'))
        return common.reply({'usage': usage})
