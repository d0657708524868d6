"""The version document at ``/`` and ``/versions`` (300 Multiple Choices).

Served without authentication, so that keystoneauth's version discovery works with an
unversioned endpoint. Links start with the request's own URL, as Blazar's do, or with
``[api] public_endpoint`` when it is set (``climate.api.middleware.CleanRequest``).
"""

import json

import webob

from climate.api import middleware


def document(base_url):
    minimum = '%d.%d' % middleware.MIN_VERSION
    maximum = '%d.%d' % middleware.MAX_VERSION
    return {'versions': [
        {'id': 'v1.0', 'status': 'CURRENT',
         'links': [{'href': f'{base_url}/v1', 'rel': 'self'}],
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
    resp.text = json.dumps(document(request.application_url))
    return resp(environ, start_response)
