"""Where climate-api listens, the WSGI entry's configuration, the body size limit."""

import io

import webob

from climate.api import middleware
from climate.api import server
from climate.api import wsgi


def test_noauth_listens_on_localhost_unless_told(conf):
    conf.set_override('auth_strategy', 'noauth')
    assert server.listen_host(conf) == '127.0.0.1'


def test_an_explicit_host_wins_even_with_noauth(conf, tmp_path):
    config = tmp_path / 'climate.conf'
    config.write_text('[DEFAULT]\nhost = 0.0.0.0\nauth_strategy = noauth\n')
    conf([], project='climate', default_config_files=[str(config)])
    assert server.listen_host(conf) == '0.0.0.0'


def test_keystone_listens_where_configured(conf):
    assert conf.auth_strategy == 'keystone'
    assert server.listen_host(conf) == '0.0.0.0'


def test_wsgi_reads_the_config_directory(tmp_path, monkeypatch):
    (tmp_path / 'climate.conf').write_text('[DEFAULT]\n')
    (tmp_path / 'climate.conf.d').mkdir()
    (tmp_path / 'climate.conf.d' / '10-api.conf').write_text('[DEFAULT]\n')
    monkeypatch.setenv(wsgi.CONFIG_DIR_ENV, str(tmp_path))
    assert wsgi.config_files() == [str(tmp_path / 'climate.conf'),
                                   str(tmp_path / 'climate.conf.d' / '10-api.conf')]


def _app(environ, start_response):
    body = environ['wsgi.input'].read()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [str(len(body)).encode()]


def test_body_limit_on_declared_length():
    request = webob.Request.blank('/v1/leases', method='POST', body=b'x' * 11)
    response = request.get_response(middleware.BodySizeLimit(_app, 10))
    assert response.status_int == 413
    assert response.json['error_code'] == 413


def test_body_limit_on_chunked_bodies():
    for size, status in ((10, 200), (11, 413)):
        request = webob.Request.blank('/v1/leases', method='POST')
        request.environ['wsgi.input'] = io.BytesIO(b'x' * size)
        request.environ.pop('CONTENT_LENGTH', None)
        request.environ['HTTP_TRANSFER_ENCODING'] = 'chunked'
        response = request.get_response(middleware.BodySizeLimit(_app, 10))
        assert response.status_int == status
        if status == 200:
            assert response.text == '10'
