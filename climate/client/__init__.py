"""Client-side helpers for Climate's users (the ``climate`` CLI builds on them).

They act with the user's own Keystone session (keystoneauth1), calling Climate's REST
API (service type ``reservation``) and, where a flow needs it, Nova.
"""
