"""Nova with the user's own Keystone session, for the client-side flows.

The manager's Nova driver (``climate.compute.nova``) is built from ``[nova]`` options
with Climate's service account; here the same driver methods (boot, wait, delete, with
the same error translation) act as the user, so the servers they create are the user's.
"""

from keystoneauth1 import adapter as ks_adapter
from novaclient import api_versions
from novaclient import client as nova_client

from climate.compute import base
from climate.compute import nova


class UserNovaDriver(nova.NovaDriver):
    """``NovaDriver`` over a keystoneauth1 session instead of ``[nova]`` options."""

    def __init__(self, session, *, region_name=None, interface='public',
                 wait_timeout=600.0, poll_interval=2.0):
        # Deliberately not NovaDriver.__init__, which reads Climate's configuration.
        base.ComputeDriver.__init__(self, wait_timeout, poll_interval)
        self._nova = nova_client.Client(api_versions.APIVersion(nova.API_VERSION),
                                        session=session, region_name=region_name,
                                        endpoint_type=interface)
        self._glance = ks_adapter.Adapter(session, service_type='image',
                                          interface=interface, region_name=region_name)
