"""Climate: reservations of OpenStack compute capacity for a time window."""

from oslo_service import backend as _service_backend

# Climate runs on native threads. Libraries that consult oslo.service (oslo.messaging
# does) must not fall back to its eventlet backend.
_service_backend.register_backend_default_hook(
    lambda: _service_backend.BackendType.THREADING)
