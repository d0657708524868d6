"""Assembles the API's WSGI stack around the Pecan application.

Outermost first: request id (``X-Openstack-Request-Id`` on every response), error
shaping (every error body has ``error_code``/``error_message``/``error_name``),
``HEAD`` as ``GET``, URL/Host checks and ``public_endpoint`` links, body size limit
(413), the anonymous OpenAPI description at ``/openapi.yaml``, the anonymous
reservation calendar page at ``/calendar`` (``climate.api.calendar``), the anonymous
version document at ``/`` and ``/versions``,
authentication (keystonemiddleware ``auth_token``, or noauth), microversion headers,
and the Pecan app with its hooks (context, policy, errors).
"""

from keystonemiddleware import auth_token
from oslo_log import log as logging
from oslo_middleware import request_id
import pecan

from climate.api import calendar
from climate.api import errors
from climate.api import hooks
from climate.api import middleware
from climate.api import openapi
from climate.api import policy
from climate.api import versions
from climate.api.v1 import root

LOG = logging.getLogger(__name__)


def pecan_app(manager_api, enforcer, max_limit=1000, max_json_depth=32):
    return pecan.make_app(
        root.RootController(),
        hooks=[hooks.ContextHook(manager_api, enforcer, max_limit, max_json_depth),
               hooks.ErrorHook()],
        force_canonical=False, guess_content_type_from_ext=True, debug=False)


def build(conf, manager_api):
    """The WSGI application of the API.

    ``manager_api`` is the manager client, ``climate.manager.rpcapi.ManagerAPI`` (over
    oslo.messaging, or calling a manager in this process).
    """
    enforcer = policy.make_enforcer(conf)
    app = middleware.Microversion(pecan_app(manager_api, enforcer,
                                            conf.api.max_limit,
                                            conf.api.max_json_depth))
    if conf.auth_strategy == 'noauth':
        LOG.warning('auth_strategy = noauth: requests are NOT authenticated; the '
                    'X-User-Id, X-Project-Id and X-Roles headers are trusted as sent')
        app = middleware.NoAuth(app, conf.api.noauth_user_id,
                                conf.api.noauth_project_id, conf.api.noauth_roles)
    else:
        app = auth_token.AuthProtocol(app, {'oslo_config_config': conf})
    app = middleware.Dispatch(versions.application, app)
    app = openapi.Serve(app)
    # The calendar page and its files are anonymous (the page calls /v1 with the
    # viewer's credentials), so they come before authentication.
    app = calendar.Calendar(app, conf)
    app = middleware.BodySizeLimit(app, conf.api.max_request_body_size)
    app = middleware.CleanRequest(app, conf.api.public_endpoint)
    app = middleware.HeadAsGet(app)
    app = errors.ErrorShape(app)
    return request_id.RequestId(app, conf)
