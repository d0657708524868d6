"""Errors raised by compute drivers.

Every driver raises only these, so callers never see novaclient or keystoneauth types.
``retryable`` tells the event engine whether trying the same call again later may
succeed (Nova 5xx, 429, connection failures, timeouts) or not (bad input, forbidden,
conflicts Climate must resolve itself).
"""


class ComputeError(Exception):
    """A compute call failed.

    :param message: what went wrong, including Nova's own message when there is one.
    :param retryable: True when the failure is transient and the call may be repeated.
    :param status_code: the HTTP status Nova answered with, if any.
    """

    retryable_default = False

    def __init__(self, message, retryable=None, status_code=None):
        super().__init__(message)
        self.message = message
        self.retryable = self.retryable_default if retryable is None else retryable
        self.status_code = status_code

    def __repr__(self):
        return (f'{type(self).__name__}({self.message!r}, retryable={self.retryable}, '
                f'status_code={self.status_code})')


class ComputeTimeout(ComputeError):
    """Nova did not answer in time, or a resource did not reach a status in time."""

    retryable_default = True


class NotFound(ComputeError):
    """The named compute resource does not exist."""

    def __init__(self, message, status_code=404):
        super().__init__(message, retryable=False, status_code=status_code)


class HypervisorNotFound(NotFound):
    pass


class ComputeHostNotFound(NotFound):
    """No nova-compute service has this host name (aggregates hold service hosts)."""


class ServerNotFound(NotFound):
    pass


class AggregateNotFound(NotFound):
    pass


class FlavorNotFound(NotFound):
    """No such flavor (or not visible to the caller)."""


class ImageNotFound(NotFound):
    pass


def api_error(error, action=None, field=None):
    """``error``, met while serving an API request, as the Climate exception the API
    answers with: 409 when Nova answered 409, 503 when it may pass (nothing was
    changed: try again), else 500. ``action`` says what Climate asked of Nova;
    ``field`` names the request field a 409 is about."""
    from climate import exceptions as climate_exc
    if error.status_code == 409:
        prefix = f'{field}: ' if field else ''
        return climate_exc.Conflict(
            f'{prefix}Nova cannot {action or "do it"} now: {error.message}')
    if error.retryable:
        doing = f' (could not {action})' if action else ''
        return climate_exc.ComputeUnavailable(
            f'Nova is unavailable{doing}; try again later: {error.message}')
    return climate_exc.ClimateException(
        f'Nova could not {action or "do it"}: {error.message}')
