"""The version document at ``/`` and ``/versions`` (300 Multiple Choices).

Served without authentication, so that keystoneauth's version discovery works with an
unversioned endpoint. Links are built from the request's host URL, as Blazar does.
"""

import json

import webob

from climate.api import middleware


def document(host_url):
    minimum = '%d.%d' % middleware.MIN_VERSION
    maximum = '%d.%d' % middleware.MAX_VERSION
    return {'versions': [
        {'id': 'v1.0', 'status': 'CURRENT',
         'links': [{'href': f'{host_url}/v1', 'rel': 'self'}],
         'min_version': minimum, 'max_version': maximum},
    ]}


def application(environ, start_response):
    request = webob.Request(environ)
    if request.method not in ('GET', 'HEAD'):
        from climate.api import errors
        resp = errors.response(405, 'The method is not allowed for the requested URL.',
                               headers={'Allow': 'GET, HEAD'})
        return resp(environ, start_response)
    resp = webob.Response(status=300, content_type='application/json', charset='utf-8')
    resp.text = json.dumps(document(request.host_url))
    return resp(environ, start_response)
