"""Helpers every v1 controller uses: the caller's context, the manager, policy
checks and JSON replies (201 on create, 204 on delete, 200 otherwise)."""

import json

import pecan
import webob
import webob.exc

from climate import exceptions
from climate.api import policy
from climate.api import validation

HOST_RESOURCE_TYPE = 'physical:host'


def resource():
    """``@resource()`` on ``index``: a generic JSON controller whose methods are
    registered with ``@index.when(method=...)``; any other method answers 405."""
    return pecan.expose('json', generic=True)


def method(name):
    return {'method': name, 'template': 'json'}


def not_allowed():
    raise webob.exc.HTTPMethodNotAllowed()


def context():
    return pecan.request.context['climate']


def manager():
    return pecan.request.context['manager']


def authorize(rule, target=None):
    ctxt = context()
    if target is None:
        target = {'project_id': ctxt.project_id, 'user_id': ctxt.user_id}
    policy.authorize(pecan.request.context['enforcer'], rule, target, ctxt)


def allowed(rule, target=None):
    ctxt = context()
    if target is None:
        target = {'project_id': ctxt.project_id, 'user_id': ctxt.user_id}
    return policy.check(pecan.request.context['enforcer'], rule, target, ctxt)


def body(schema):
    """The request's JSON body, checked against ``schema`` (see
    :func:`climate.api.validation.extract`)."""
    return validation.extract(pecan.request, schema)


def reply(data, status=200):
    resp = webob.Response(status=status, content_type='application/json',
                          charset='utf-8')
    resp.text = json.dumps(data)
    return resp


def no_content():
    resp = webob.Response(status=204)
    resp.content_type = None
    return resp


class HostsDisabled(exceptions.NotFound):
    msg_fmt = ('The resource could not be found: host reservations are not enabled '
               '(no physical:host plugin in [manager] plugins).')


def call_host_plugin(method, **kwargs):
    """Call the ``physical:host`` plugin's ``method`` through the manager; 404 when
    the manager has no such plugin (Blazar exposes /v1/os-hosts only with it)."""
    try:
        return manager().call_plugin(context(), HOST_RESOURCE_TYPE, method, **kwargs)
    except exceptions.UnsupportedResourceType:
        raise HostsDisabled() from None
