"""Climate's exceptions: each carries the HTTP status the API answers with.

Class names and messages follow Blazar's where a client may see them. They travel over
RPC intact (``climate.exceptions`` is an allowed remote exception module), so the API
receives the same type and message the manager raised.
"""


class ClimateException(Exception):
    """Base class. ``msg_fmt`` is formatted with the keyword arguments."""

    msg_fmt = 'An unknown exception occurred'
    code = 500

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                message = self.msg_fmt
        self.message = str(message)
        super().__init__(self.message)

    def __str__(self):
        return self.message


# 400 -----------------------------------------------------------------------------------
class InvalidInput(ClimateException):
    code = 400
    msg_fmt = 'Invalid input: %(reason)s'


class MissingParameter(InvalidInput):
    msg_fmt = 'Missing parameter %(param)s'


class InvalidDate(InvalidInput):
    msg_fmt = ('%(date)s is an invalid date. Required format: %%Y-%%m-%%d %%H:%%M '
               '(UTC), "now", or RFC 3339 with an offset')


class InvalidRange(InvalidInput):
    msg_fmt = 'Invalid values for min/max of %(param)s'


class MalformedParameter(InvalidInput):
    msg_fmt = 'Malformed parameter %(param)s'


class MalformedRequirements(InvalidInput):
    msg_fmt = 'Malformed requirements %(rqrms)s'


class UnsupportedResourceType(InvalidInput):
    msg_fmt = 'The %(resource_type)s resource type is not supported'


class ExtraCapabilityTooLong(InvalidInput):
    msg_fmt = 'Extra capability key too long'


# 403 / 404 -----------------------------------------------------------------------------
class NotAuthorized(ClimateException):
    code = 403
    msg_fmt = 'Not authorized: %(reason)s'


class PolicyNotAuthorized(NotAuthorized):
    msg_fmt = "Policy doesn't allow %(action)s to be performed"


class UsageLimitExceeded(NotAuthorized):
    """A usage-policy rule (``climate.manager.enforcement``) refused the lease.

    ``rule`` names the filter; ``details`` (optional) holds what the API shows beside
    the message: for a quota, the limit, the request and the project's usage.
    """

    msg_fmt = '%(reason)s'


class NotFound(ClimateException):
    code = 404
    msg_fmt = 'Object with %(object)s not found'


class LeaseNotFound(NotFound):
    msg_fmt = 'Lease %(lease_id)s not found'


class HostNotFound(NotFound):
    msg_fmt = 'Host %(host)s not found'


# 409 -----------------------------------------------------------------------------------
class Conflict(ClimateException):
    code = 409
    msg_fmt = 'Conflict: %(reason)s'


class InvalidStatus(Conflict):
    msg_fmt = 'Invalid lease status.'


class InvalidStateTransition(InvalidStatus):
    msg_fmt = 'Cannot move %(kind)s %(id)s from %(current)s to %(target)s'


class NotEnoughHostsAvailable(Conflict):
    msg_fmt = 'Not enough hosts available'


class CantUpdateParameter(Conflict):
    msg_fmt = '%(param)s cannot be updated'


class HostHavingServers(Conflict):
    msg_fmt = 'Servers [%(servers)s] found for host %(host)s'


class CantDeleteHost(Conflict):
    msg_fmt = "Can't delete host %(host)s. %(msg)s"


# 503 -----------------------------------------------------------------------------------
class ComputeUnavailable(ClimateException):
    """Nova (or Keystone on its way) could not be reached or answered 5xx while
    serving a request; nothing was changed, the request may be sent again."""

    code = 503
    msg_fmt = 'Nova is unavailable; try again later: %(reason)s'


class DatabaseUnavailable(ClimateException):
    """The database could not be reached while serving a request; nothing changed."""

    code = 503
    msg_fmt = 'The database is unavailable; try again later: %(reason)s'


class PolicyServiceUnavailable(ClimateException):
    """The external usage-policy service could not be asked; nothing was changed."""

    code = 503
    msg_fmt = 'The usage policy service is unavailable; try again later: %(reason)s'


# 500 -----------------------------------------------------------------------------------
class LeaseChangeFailed(ClimateException):
    """An update or delete failed unexpectedly; the lease was left as it was."""

    msg_fmt = 'Lease %(lease_id)s was not %(done)s and is unchanged: %(error)s'


# Internal ------------------------------------------------------------------------------
class ClaimConflict(ClimateException):
    """An optimistic claim lost a race; the caller retries against fresh data."""

    msg_fmt = 'Concurrent update of %(what)s'


class PluginConfigurationError(ClimateException):
    msg_fmt = 'Plugin configuration error: %(error)s'


class EventError(ClimateException):
    msg_fmt = 'Event %(event_id)s failed: %(error)s'


def is_retryable(exc):
    """Whether a failure is worth retrying (transient), by type or a ``retryable`` flag."""
    from oslo_db import exception as db_exc
    from sqlalchemy import exc as sa_exc
    if getattr(exc, 'retryable', False):
        return True
    return isinstance(exc, (ClaimConflict, db_exc.DBDeadlock, db_exc.DBConnectionError,
                            sa_exc.OperationalError, TimeoutError, ConnectionError))
