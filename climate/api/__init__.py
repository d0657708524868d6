"""Climate's REST API: a Pecan application wire-compatible with Blazar's v1 API.

``climate.api.app.build`` assembles the WSGI stack (request id, error shaping, body
size limit, version document, authentication, microversion headers, the Pecan app);
``climate.api.wsgi:application`` is the entry point for WSGI servers.
"""
