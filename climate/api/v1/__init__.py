"""Version 1 of the API: Blazar's v1 paths, envelopes and status codes."""
