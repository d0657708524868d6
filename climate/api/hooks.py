"""Pecan hooks: the request context and its helpers, and errors as JSON."""

from pecan import hooks

from climate import context as climate_context
from climate.api import errors
from climate.api import policy
from climate.api import validation


class ContextHook(hooks.PecanHook):
    """Builds the RequestContext from the identity headers keystonemiddleware (or
    noauth) set, and hands controllers the manager client and the policy enforcer."""

    priority = 10

    def __init__(self, manager_api, enforcer, max_json_depth):
        self.manager_api = manager_api
        self.enforcer = enforcer
        self.max_json_depth = max_json_depth

    def on_route(self, state):
        request = state.request
        validation.check_text([request.path_info, *request.GET.keys(),
                               *request.GET.values()], 'the URL')
        # Before Pecan reads a JSON body itself (an unknown charset would crash it).
        validation.check_charset(request)
        validation.check_body(request, self.max_json_depth)
        ctxt = climate_context.RequestContext.from_environ(request.environ)
        ctxt.is_admin = policy.check(self.enforcer, 'admin', {}, ctxt)
        request.context['climate'] = ctxt
        request.context['manager'] = self.manager_api
        request.context['enforcer'] = self.enforcer


class ErrorHook(hooks.PecanHook):
    """Every exception, Climate's or the router's (404, 405), becomes an error body."""

    priority = 1000

    def on_error(self, state, exc):
        return errors.from_exception(exc)
