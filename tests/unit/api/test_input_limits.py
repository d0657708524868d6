"""The API's bounds on hostile input below the handlers: JSON depth measured before
decoding, noauth's implied roles, the Host header, HEAD and media types."""

import pytest
import webob

from climate import exceptions
from climate.api import middleware
from climate.api import validation
from climate.api import versions
from climate.common import limits


def test_json_depth_is_measured_without_decoding():
    assert not limits.json_depth_exceeds('{"a": [1, {"b": []}]}', 4)
    assert limits.json_depth_exceeds('{"a": [1, {"b": []}]}', 3)
    assert limits.json_depth_exceeds(b'[' * 100000, 32)
    # Brackets inside strings (escaped quotes included) do not count.
    assert not limits.json_depth_exceeds('["[[[[\\"[[[[", "{{{{"]', 1)


def test_quote_bounds_what_a_message_repeats():
    assert limits.quote('x' * 100000).endswith('…')
    assert len(limits.quote('x' * 100000)) == limits.QUOTE_LIMIT + 1
    assert limits.quote({'a': 1}) == '{"a": 1}'


def test_noauth_roles_imply_as_keystone_does():
    assert middleware.with_implied_roles('member') == 'member,reader'
    assert middleware.with_implied_roles('admin') == 'admin,member,reader'
    assert middleware.with_implied_roles('reader') == 'reader'
    assert middleware.with_implied_roles('') == ''


def _echo(environ, start_response):
    request = webob.Request(environ)
    body = f'{request.method} {request.content_type} {request.application_url}'
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body.encode()]


def test_head_is_get_without_a_body():
    response = webob.Request.blank('/', method='HEAD').get_response(
        middleware.HeadAsGet(_echo))
    assert response.status_int == 200
    assert response.body == b''
    assert response.content_length == len(b'GET  http://localhost')


def test_media_types_are_lower_cased_and_public_endpoint_is_the_base():
    app = middleware.CleanRequest(_echo, 'https://cloud.example.com/reservation/')
    request = webob.Request.blank('/v1', method='POST',
                                  headers={'Content-Type': 'APPLICATION/JSON; a=B',
                                           'Host': 'evil.example.com'})
    assert request.get_response(app).text == \
        'POST application/json https://cloud.example.com/reservation'


def test_a_host_header_that_is_not_host_port_is_a_400():
    app = middleware.CleanRequest(_echo)
    for host in ('a.example/x', 'a b', 'x:port', 'example.com:80@evil'):
        response = webob.Request.blank('/', headers={'Host': host}).get_response(app)
        assert response.status_int == 400, host
    for host in ('api.example.org', 'api.example.org:8080', '[::1]:1234', '10.0.0.1'):
        response = webob.Request.blank('/', headers={'Host': host}).get_response(app)
        assert response.status_int == 200, host


def test_strings_with_nul_or_lone_surrogates_are_refused():
    for bad in ({'name': 'a\x00'}, {'name': '\ud800'}, {'\udfff': 1}, ['\ud83d']):
        with pytest.raises(exceptions.InvalidInput):
            validation.check_text(bad, 'the request body')
    validation.check_text({'name': 'emoji 😀 and CJK 漢字'}, 'the request body')


def test_the_version_document_links_to_the_public_endpoint():
    app = middleware.CleanRequest(versions.application,
                                  'https://cloud.example.com/reservation')
    response = webob.Request.blank('/', headers={'Host': 'internal:1234'}).get_response(
        app)
    assert response.json['versions'][0]['links'][0]['href'] == \
        'https://cloud.example.com/reservation/v1'
