"""``GET /openapi.yaml``: the OpenAPI 3.1 description of the API, without
authentication (like the version document).

The description is ``climate/api/openapi.yaml``, shipped inside the package (pbr
installs the package's files that git tracks), read once and served as it is.
"""

import functools
import os

import webob

PATH = '/openapi.yaml'
DOCUMENT = os.path.join(os.path.dirname(__file__), 'openapi.yaml')


@functools.lru_cache(maxsize=1)
def document():
    with open(DOCUMENT, 'rb') as source:
        return source.read()


class Serve:
    """Answers ``GET``/``HEAD /openapi.yaml``; passes every other request to
    ``app``."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get('PATH_INFO') != PATH:
            return self.app(environ, start_response)
        if environ.get('REQUEST_METHOD') not in ('GET', 'HEAD'):
            from climate.api import errors
            resp = errors.response(405, 'The method is not allowed for the requested '
                                        'URL.', headers={'Allow': 'GET, HEAD'})
            return resp(environ, start_response)
        resp = webob.Response(body=document(), content_type='application/yaml',
                              charset='utf-8')
        return resp(environ, start_response)
