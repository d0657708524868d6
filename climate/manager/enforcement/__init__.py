"""Usage policy: rules that may refuse a lease create or update with a 403.

Blazar's filters (``max_lease_duration``, ``external_service``) keep Blazar's option
names; Climate's own (``extension_window``, ``max_lead_time``,
``max_concurrent_leases``, ``quota``) use the same mechanism. ``policy`` runs them for
the lease service; ``base`` says what a filter is; ``usage`` and ``limits`` compute a
project's usage over time and read its limits. Operator guide:
doc/source/operator/usage-policy.rst.
"""
