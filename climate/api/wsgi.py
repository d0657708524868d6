"""WSGI entry point: ``climate.api.wsgi:application`` (uwsgi, gunicorn, mod_wsgi).

Configuration is read on the first request from ``$OS_CLIMATE_CONFIG_DIR/climate.conf``
(default ``/etc/climate/climate.conf``) and any ``*.conf`` in ``climate.conf.d`` there;
the manager is reached over ``[DEFAULT] transport_url``.
"""

import glob
import os
import threading

from oslo_config import cfg

from climate.common import no_eventlet

# Before init_application imports oslo.messaging (and through it futurist).
no_eventlet.hide()

CONFIG_DIR_ENV = 'OS_CLIMATE_CONFIG_DIR'
DEFAULT_CONFIG_DIR = '/etc/climate'


def config_files(config_dir=None):
    config_dir = config_dir or os.environ.get(CONFIG_DIR_ENV, DEFAULT_CONFIG_DIR)
    files = [os.path.join(config_dir, 'climate.conf')]
    files += sorted(glob.glob(os.path.join(config_dir, 'climate.conf.d', '*.conf')))
    return [path for path in files if os.path.exists(path)]


def init_application(conf=cfg.CONF, files=None):
    from climate.api import app
    from climate.common import service
    from climate.manager import rpcapi
    service.prepare([], conf=conf,
                    default_config_files=config_files() if files is None else files)
    return app.build(conf, rpcapi.ManagerAPI(conf))


class _LazyApplication:
    """Builds the application on the first request, in the worker process."""

    def __init__(self):
        self._app = None
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = init_application()
        return self._app(environ, start_response)


application = _LazyApplication()
