"""The request context: who is asking, carried from the API over RPC to the manager.

It is also the object oslo.db's enginefacade hangs a transaction's session on.
"""

from oslo_context import context
from oslo_db.sqlalchemy import enginefacade
import oslo_messaging as messaging


@enginefacade.transaction_context_provider
class RequestContext(context.RequestContext):
    """oslo.context's, with a database session when in a transaction. ``is_admin`` is
    set by the API from the ``admin`` policy rule; it is not a policy value itself
    (oslo.context deprecates that), so policies test roles."""


def admin_context():
    """The manager's own context, for work no user asked for (events, recovery)."""
    return RequestContext(is_admin=True, roles=['admin'], overwrite=False)


class ContextSerializer(messaging.Serializer):
    """Sends :class:`RequestContext` as a dict and rebuilds it on the other side."""

    def serialize_entity(self, ctxt, entity):
        return entity

    def deserialize_entity(self, ctxt, entity):
        return entity

    def serialize_context(self, ctxt):
        return ctxt.to_dict()

    def deserialize_context(self, ctxt):
        return RequestContext.from_dict(ctxt)
