"""The [nova] service account as the Nova, Glance and Keystone clients share it.

``ServiceAccount`` loads the keystoneauth1 auth plugin, session and endpoint options of
the ``[nova]`` section once; every client of the Nova driver (``climate.compute.nova``,
``.glance``, ``.trusts``) is built on that one session, and keystoneauth re-authenticates
when the token expires.

``translated()`` turns keystoneauth1 errors met on the way to any of these services
into ``climate.compute.exceptions``, with the retryable flag the event engine needs.
"""

import contextlib

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1.loading import adapter as ks_loading_adapter

from climate.compute import exceptions

GROUP = 'nova'


class ServiceAccount:
    """The ``[nova]`` account: ``auth``, ``session``, ``interface``, ``region_name``
    and the remaining adapter options (``adapter_kwargs``) for a service client."""

    def __init__(self, conf, group=GROUP):
        self.conf = conf
        self.group = group
        auth = ks_loading.load_auth_from_conf_options(conf, group)
        if auth is None:
            raise exceptions.ComputeError(
                '[nova] auth_type is not set: Climate needs a Keystone service account '
                'to call Nova (see the [nova] section of climate.conf.sample)')
        self.auth = auth
        self.session = ks_loading.load_session_from_conf_options(conf, group, auth=auth)
        adapter_kwargs = {}
        ks_loading_adapter.process_conf_options(conf[group], adapter_kwargs)
        self.interface = adapter_kwargs.pop('interface')
        # The compute endpoint comes from the catalog (or endpoint_override) as is; the
        # API version is the pinned microversion, so version discovery options go unused.
        for unused in ('version', 'min_version', 'max_version'):
            adapter_kwargs.pop(unused)
        self.adapter_kwargs = adapter_kwargs

    @property
    def region_name(self):
        return self.adapter_kwargs['region_name']

    @property
    def connect_retries(self):
        return self.adapter_kwargs['connect_retries']


def http_error(code, message, not_found=None):
    """The ComputeError for an HTTP answer ``code``; ``not_found`` is the NotFound
    subclass a 404 means, if any."""
    if code == 404 and not_found is not None:
        return not_found(message)
    retryable = code in (408, 429) or (code >= 500 and code != 501)
    return exceptions.ComputeError(message, retryable=retryable, status_code=code)


@contextlib.contextmanager
def translated(not_found=None):
    """Turn keystoneauth1 errors into climate.compute.exceptions."""
    try:
        yield
    except ks_exc.ConnectTimeout as error:
        raise exceptions.ComputeTimeout(
            f'Nova did not answer in time: {error}') from error
    except ks_exc.ConnectionError as error:
        raise exceptions.ComputeError(f'Cannot reach Nova or Keystone: {error}',
                                      retryable=True) from error
    except ks_exc.HttpError as error:
        raise http_error(error.http_status, f'{error}', not_found) from error
    except ks_exc.ClientException as error:
        # A missing endpoint or auth plugin is a configuration problem; a failed
        # discovery is one too unless Keystone could not be reached (or answered 5xx).
        raise exceptions.ComputeError(f'Cannot use Nova: {error}',
                                      retryable=_caused_by_outage(error)) from error


def _caused_by_outage(error):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, (ks_exc.ConnectionError, ks_exc.HttpServerError)):
            return True
        error = error.__cause__ or error.__context__
    return False
