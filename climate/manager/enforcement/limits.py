"""Where quota limits come from (``[enforcement] quota_driver``).

``config``
    ``[enforcement] quota_limits`` (``resource:limit`` pairs), the same for every
    project: for clouds without Keystone (``noauth``, the quickstart).
``unified_limits``
    Keystone's unified limits through oslo.limit: a registered limit per resource for
    Climate's service (and region), overridden by a project limit. Read at each
    request (oslo.limit's cache off), so a limit changed in Keystone applies to the
    next request without a restart. oslo.limit reads its Keystone account and
    Climate's ``endpoint_id`` from the ``[oslo_limit]`` section; only the resources of
    ``[enforcement] quota_resources`` are asked for (a resource with no registered
    limit has limit 0 in oslo.limit, so list only the ones registered).

A limit of -1 means unlimited; a resource without a limit is not checked.
"""

UNLIMITED = -1


class ConfigLimits:

    def __init__(self, conf):
        self.options = conf.enforcement

    def get(self, project_id):
        return {name: int(value) for name, value in self.options.quota_limits.items()}


class UnifiedLimits:

    def __init__(self, conf):
        self.options = conf.enforcement

    def get(self, project_id):
        from oslo_limit import limit  # only a Keystone deployment needs it
        names = list(self.options.quota_resources)
        if not names:
            return {}
        enforcer = limit.Enforcer(lambda project_id, resources: {}, cache=False)
        return dict(enforcer.get_project_limits(project_id, names))


DRIVERS = {'config': ConfigLimits, 'unified_limits': UnifiedLimits}


def driver(conf):
    return DRIVERS[conf.enforcement.quota_driver](conf)
