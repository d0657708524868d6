"""The lease manager: RPC service, lease lifecycle, state machine and event engine."""
