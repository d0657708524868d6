"""A small Python client for Climate's v1 reservation API (``climate.client.api``)."""
