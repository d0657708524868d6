"""openstack-lite: real Keystone, Placement, Nova and Glance on loopback for Climate's
integration tests (see README.md here). Importing this package imports nothing: some of
its modules run inside Nova's own processes (``nova_plugins``) or as scripts in the
openstack-lite venv (``wsgi_server``, ``neutron_stub``).
"""
