"""Climate: reservations of OpenStack compute capacity for a time window."""
