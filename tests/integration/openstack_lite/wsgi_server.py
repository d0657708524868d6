"""Serve one OpenStack WSGI application on loopback: ``wsgi_server.py module:attr port``.

Runs in the openstack-lite venv with werkzeug's threaded server (werkzeug comes with
Keystone's Flask), so neither uwsgi nor Apache is needed. The applications parse
``sys.argv`` with oslo.config, so our own arguments are removed before the import;
each finds its configuration through ``OS_<SERVICE>_CONFIG_DIR``.
"""

import importlib
import sys


def main():
    target, port = sys.argv[1], int(sys.argv[2])
    del sys.argv[1:]
    module_name, _, attribute = target.partition(':')
    application = getattr(importlib.import_module(module_name), attribute or 'application')

    from werkzeug import serving
    # The OpenStack clients keep connections alive; answer in HTTP/1.1.
    serving.WSGIRequestHandler.protocol_version = 'HTTP/1.1'
    print(f'serving {target} on http://127.0.0.1:{port}/', flush=True)
    serving.run_simple('127.0.0.1', port, application, threaded=True,
                       use_reloader=False, use_debugger=False)


if __name__ == '__main__':
    main()
