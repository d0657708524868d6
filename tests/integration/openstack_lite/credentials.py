"""Who tests act as: one Keystone user scoped to one project, and its sessions."""

import dataclasses

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3


@dataclasses.dataclass(frozen=True)
class Credentials:
    auth_url: str
    username: str
    password: str
    project_name: str
    user_domain_name: str = 'Default'
    project_domain_name: str = 'Default'

    def auth(self):
        return v3.Password(auth_url=self.auth_url, username=self.username,
                           password=self.password, project_name=self.project_name,
                           user_domain_name=self.user_domain_name,
                           project_domain_name=self.project_domain_name)

    def session(self, timeout=None):
        """A new keystoneauth1 session (token fetched on first use)."""
        return ks_session.Session(auth=self.auth(), timeout=timeout)

    def as_dict(self):
        """Options for keystoneauth's ``password`` loader or a ``[keystone_authtoken]``."""
        return dataclasses.asdict(self)

    def env(self):
        """``OS_*`` variables for the openstack/nova/blazar command-line clients."""
        return {'OS_AUTH_URL': self.auth_url, 'OS_USERNAME': self.username,
                'OS_PASSWORD': self.password, 'OS_PROJECT_NAME': self.project_name,
                'OS_USER_DOMAIN_NAME': self.user_domain_name,
                'OS_PROJECT_DOMAIN_NAME': self.project_domain_name,
                'OS_IDENTITY_API_VERSION': '3', 'OS_REGION_NAME': 'RegionOne'}
