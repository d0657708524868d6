"""``OpenStackLite``: what an integration test gets from the ``openstack`` fixture.

It names the users (admin, operator, one member per test project, Climate's service
user), the endpoints, the compute hosts with their capacities, the flavor and image
made at setup, and builds keystoneauth sessions and Nova clients for any of them.
"""

import dataclasses
import functools

from novaclient import client as nova_client

from tests.integration.openstack_lite import credentials
from tests.integration.openstack_lite import provision

# Latest microversion whose os-hypervisors still shows vcpus/memory_mb/local_gb.
HYPERVISOR_DETAILS_MICROVERSION = '2.87'
PLACEMENT_MICROVERSION = 'placement 1.39'


def placement_get(session, path):
    """GET ``path`` from Placement and return the decoded JSON."""
    return session.get(path, endpoint_filter={'service_type': 'placement'},
                       headers={'OpenStack-API-Version': PLACEMENT_MICROVERSION}).json()


@dataclasses.dataclass
class OpenStackLite:
    settings: object
    project_ids: dict
    flavor_id: str
    image_id: str
    timings: dict = dataclasses.field(default_factory=dict)
    stale_removed: dict = dataclasses.field(default_factory=dict)
    # ``environment.ServiceControl``: stop and start one service (fault scenarios).
    services: object = None

    # ------------------------------------------------------------ who
    def _creds(self, username, project):
        password = (self.settings.admin_password if username == 'admin' else username)
        return credentials.Credentials(self.auth_url, username, password, project)

    @property
    def admin(self):
        """The bootstrap admin (``admin`` in project ``admin``)."""
        return self._creds('admin', 'admin')

    @property
    def operator(self):
        """A second admin user, for scenarios that must not use the bootstrap admin."""
        return self._creds(provision.OPERATOR, 'admin')

    @property
    def members(self):
        """``{project name: credentials of its member user}`` for ``alpha`` and ``beta``."""
        return {project: self._creds(user, project)
                for project, user in provision.TEST_PROJECTS.items()}

    @property
    def climate(self):
        """Climate's service user (admin role in project ``service``)."""
        return self._creds('climate', 'service')

    # ------------------------------------------------------------ where
    @property
    def auth_url(self):
        return self.settings.auth_url

    @property
    def region(self):
        return self.settings.region

    @property
    def endpoints(self):
        """``{service type: URL}`` as registered in Keystone's catalog."""
        return {stype: url for stype, url in provision.catalog(self.settings).values()}

    @property
    def reservation_url(self):
        return self.settings.reservation_url

    @property
    def hosts(self):
        """``{host name: Compute(name, vcpus, memory_mb, local_gb)}``."""
        return {c.name: c for c in self.settings.computes}

    @property
    def scheduler_filters(self):
        """Dotted paths of the extra filters nova-scheduler loaded."""
        return self.settings.extra_filters

    @property
    def transport_url(self):
        from tests.integration.openstack_lite import environment
        return environment.read_transport_url(self.settings)

    def log_path(self, service):
        return self.settings.log_dir / f'{service}.log'

    # ------------------------------------------------------------ clients
    @functools.cached_property
    def admin_session(self):
        return self.admin.session()

    def session(self, creds=None):
        return (creds or self.admin).session()

    def nova(self, creds=None, microversion=HYPERVISOR_DETAILS_MICROVERSION, session=None):
        """A python-novaclient client over a keystoneauth session, as Climate uses."""
        session = session or (self.admin_session if creds is None else creds.session())
        return nova_client.Client(microversion, session=session)

    def placement(self, path, session=None):
        """GET ``path`` from Placement and return the decoded JSON."""
        return placement_get(session or self.admin_session, path)

    def glance(self, method, path, session=None, **kwargs):
        """A raw Glance v2 request (``raise_exc=False``: check the status yourself)."""
        return (session or self.admin_session).request(
            path, method, endpoint_filter={'service_type': 'image'}, raise_exc=False,
            **kwargs)
