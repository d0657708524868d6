"""Helpers every v1 controller uses: the caller's context, the manager, policy
checks and JSON replies (201 on create, 204 on delete, 200 otherwise)."""

import itertools
import json
from urllib import parse

import pecan
import webob
import webob.exc

from climate import exceptions
from climate import rpc
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


def page_limit():
    """The size of the page a listing answers: the request's ``limit`` (an integer
    of at least 1), capped at ``[api] max_limit``, which is also the default (as
    Nova does: a larger limit is not an error)."""
    largest = pecan.request.context['max_limit']
    limit = validation.query_int(pecan.request, 'limit', minimum=1)
    return largest if limit is None else min(limit, largest)


def next_links(collection, count, limit, last_marker):
    """``{"<collection>_links": [next link]}`` (Nova's style) when a page of ``count``
    items is full, so there may be more: the same query with ``marker`` set to the
    last item; else ``{}``. Clients that do not know the key ignore it."""
    if not count or count < limit:
        return {}
    request = pecan.request
    query = [(k, v) for k, v in request.GET.items() if k != 'marker']
    query.append(('marker', last_marker))
    return {f'{collection}_links': [{'rel': 'next', 'href': '%s?%s' % (
        request.path_url, parse.urlencode(query))}]}


def page_reply(collection, items, limit, marker_of):
    """``{collection: items}`` and its ``next`` link (:func:`next_links`)."""
    data = {collection: items}
    data.update(next_links(collection, len(items), limit,
                           marker_of(items[-1]) if items else None))
    return reply(data)


def encoded_page_reply(collection, page, limit):
    """The reply of a page the manager encoded (``climate.manager.rpcapi``'s
    ``list_leases_page``): the text goes out as it came, not decoded and encoded
    again, and a packed one is unpacked piece by piece as it is sent."""
    links = next_links(collection, page['count'], limit, page['last_id'])
    resp = webob.Response(status=200, content_type='application/json',
                          charset='utf-8')
    head = ('{"%s": ' % collection).encode('utf-8')
    tail = ''.join(', %s: %s' % (json.dumps(key), json.dumps(value))
                   for key, value in links.items()).encode('utf-8') + b'}'
    packed = page.get(f'{collection}_packed')
    if packed is not None:
        resp.app_iter = itertools.chain((head,), rpc.unpack_chunks(packed), (tail,))
        resp.content_length = len(head) + page['size'] + len(tail)
    else:
        resp.body = head + page[collection].encode('utf-8') + tail
    return resp


def naming_the_date(call, *args):
    """``call(*args)`` on the manager, a date it cannot read answered naming the field
    (as every 400 of the API names its field; the manager's message starts with the
    value, and the field travels in the exception's ``field``)."""
    try:
        return call(*args)
    except exceptions.InvalidDate as exc:
        field = exc.kwargs.get('field')
        if not field:
            raise
        raise exceptions.InvalidDate(message=f'{field}: {exc.message}',
                                     **exc.kwargs) from None


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
