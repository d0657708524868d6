"""The OpenAPI description (``climate/api/openapi.yaml``) against the code.

* every route the Pecan controllers serve (walked from ``RootController``, with the
  paths the WSGI stack answers before Pecan) is described, with each method, and
  nothing else is;
* every operation describes its success status and every error status the stack
  can answer for it;
* every (method, path, status) a gabbi story of ``tests/functional/api/`` observes
  is described;
* the document is valid OpenAPI 3.1 and ``climate-api`` serves it without
  authentication.
"""

import inspect
import pathlib
import re

import jsonschema
import pytest
import webob
import yaml

from climate.api import calendar
from climate.api import openapi
from climate.api.v1 import root
from tests.functional.api import conftest as api_conf

GABBITS = pathlib.Path(__file__).parents[2] / 'functional' / 'api'
METHODS = ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')
# Answered by WSGI middleware before Pecan (``middleware.Dispatch``, ``openapi``,
# ``calendar``: its page, its configuration and its Keystone login; the page's
# static files are not described).
STACK_ROUTES = {('/', 'GET'), ('/versions', 'GET'), (openapi.PATH, 'GET'),
                (f'{calendar.PREFIX}/', 'GET'), (f'{calendar.PREFIX}/config.json', 'GET'),
                (f'{calendar.PREFIX}/token', 'POST')}
# What the stack may answer for any request under /v1: a malformed request (400),
# no token (401), an unsupported microversion (406), a body over the size limit
# (413), a failure (500).
V1_ERRORS = {'400', '401', '406', '413', '500'}
SUCCESS = {'GET': '200', 'POST': '201', 'PUT': '200', 'PATCH': '200', 'DELETE': '204'}
# A question, not a change: its success is 200, and a refusal (403 by a rule, 409 for
# capacity) is part of that answer, never a 409.
QUESTIONS = {('/v1/leases/check', 'POST')}


@pytest.fixture(scope='module')
def spec():
    return yaml.safe_load(openapi.document())


def _generic(value):
    return getattr(value, '_pecan', {}).get('generic', False)


def _methods(resource):
    return {m for m in resource._pecan['generic_handlers'] if m != 'DEFAULT'}


def pecan_routes(controller, prefix=''):
    """``{(path template, METHOD)}`` a controller tree serves; a ``_lookup``
    segment becomes ``{name of its argument}``."""
    found = set()
    index = getattr(controller, 'index', None)
    if index is not None and _generic(index):
        found |= {(prefix or '/', method) for method in _methods(index)}
    members = {name: getattr(controller, name) for name in dir(controller)
               if not name.startswith('_') and name != 'index'}
    handlers = set()
    for value in [index, *members.values()]:
        if _generic(value):
            handlers |= {getattr(h, '__func__', h) for method, h in
                         value._pecan['generic_handlers'].items() if method != 'DEFAULT'}
    for name, value in members.items():
        if getattr(value, '__func__', value) in handlers:
            continue
        if _generic(value):
            found |= {(f'{prefix}/{name}', method) for method in _methods(value)}
        elif hasattr(value, 'index'):
            found |= pecan_routes(value, f'{prefix}/{name}')
    lookup = getattr(controller, '_lookup', None)
    if lookup is not None:
        argument = list(inspect.signature(lookup).parameters)[0]
        child, _ = lookup('x')
        found |= pecan_routes(child, f'{prefix}/{{{argument}}}')
    return found


def _shape(path):
    return re.sub(r'\{[^}]+\}', '{}', path)


def described(spec):
    return {(_shape(path), method.upper()): operation
            for path, item in spec['paths'].items()
            for method, operation in item.items() if method.upper() in METHODS}


def test_the_description_is_valid_openapi_3_1(spec):
    assert spec['openapi'].startswith('3.1')
    # openapi-spec-validator is not a dependency: check what a reader relies on.
    for path, item in spec['paths'].items():
        for method, operation in item.items():
            if method == 'parameters':
                continue
            assert operation['operationId'] and operation['responses'], (path, method)
    refs = re.findall(r'\$ref: "#/components/(\w+)/(\w+)"',
                      openapi.document().decode())
    for kind, name in refs:
        assert name in spec['components'][kind], f'dangling $ref {kind}/{name}'
    for name, schema in spec['components']['schemas'].items():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_every_route_and_method_is_described_and_nothing_else():
    served = {(_shape(p), m) for p, m in pecan_routes(root.RootController())}
    served |= STACK_ROUTES
    document = yaml.safe_load(openapi.document())
    assert set(described(document)) == served


def test_every_operation_describes_what_the_stack_can_answer(spec):
    for (path, method), operation in described(spec).items():
        statuses = set(operation['responses'])
        if not path.startswith('/v1'):
            continue
        question = (path, method) in QUESTIONS
        expected = V1_ERRORS | {'200' if question else SUCCESS[method]}
        if path != '/v1':
            # Policy (403) and the manager's timeout (503) on every resource;
            # unknown ids, or no host plugin for /v1/os-hosts, are 404.
            expected |= {'403', '503'}
        if '{}' in path or path.startswith('/v1/os-hosts'):
            expected |= {'404'}
        if method != 'GET' and not question:
            expected |= {'409'}
        assert expected <= statuses, (method, path, expected - statuses)
        if question:
            assert not {'201', '409'} & statuses, (method, path)


def _gabbi_requests():
    for story in sorted(GABBITS.glob('gabbits*/*.yaml')):
        for test in yaml.safe_load(story.read_text())['tests']:
            for method in METHODS:
                url = test.get(method)
                if url is not None:
                    yield story.name, method, url, test.get('status', 200)


def _template(spec_paths, url):
    path = url.split('?')[0].rstrip('/') or '/'
    path = path.removesuffix('.json')  # accepted and ignored, as info.description says
    # As OpenAPI says, a concrete path (/v1/leases/check) wins over a template
    # (/v1/leases/{lease_id}).
    for template in sorted(spec_paths, key=lambda t: t.count('{')):
        pattern = '^' + re.sub(r'\\\{[^}]+\\\}', '[^/]+', re.escape(template)) + '$'
        if re.match(pattern, path):
            return _shape(template)
    return None


def test_every_status_a_story_observes_is_described(spec):
    operations = described(spec)
    checked = 0
    for story, method, url, status in _gabbi_requests():
        if url.startswith('$') or '$' in url.split('?')[0]:
            continue  # a link from an earlier response
        template = _template(spec['paths'], url)
        if template is None or str(status) == '405' or (template, method) not in \
                operations:
            # Unknown URLs (404) and methods a path does not list (405) are
            # described globally in info.description.
            assert str(status) in ('404', '405'), (story, method, url, status)
            continue
        responses = operations[(template, method)]['responses']
        assert str(status) in responses, (story, method, url, status)
        checked += 1
    assert checked > 150


def test_climate_api_serves_it_without_authentication():
    from climate.api import app as api_app

    conf = api_conf.make_conf(auth_strategy='keystone')
    application = api_app.build(conf, manager_api=None)
    resp = webob.Request.blank(openapi.PATH).get_response(application)
    assert resp.status_int == 200
    assert resp.content_type == 'application/yaml'
    assert yaml.safe_load(resp.body)['openapi'] == '3.1.0'
    refused = webob.Request.blank(openapi.PATH, method='POST').get_response(application)
    assert refused.status_int == 405 and refused.json['error_code'] == 405
    conf.reset()
