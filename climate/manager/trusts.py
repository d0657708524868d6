"""Keystone trusts as the lease service uses them.

A lease gets a trust from its creator to Climate's account when one of its plugins acts
on Nova with the owner's authority (``acts_for_owner``); the trust is revoked when the
lease ends, is deleted, or its creation is rolled back.
"""

from typing import Iterable
from typing import Mapping
from typing import Optional

from oslo_log import log as logging

from climate.compute import exceptions as compute_exc

LOG = logging.getLogger(__name__)


class Trusts:
    """Creates and revokes lease trusts through the compute driver of the plugin that
    needs them. ``plugins`` is the service's own mapping (read at each call)."""

    def __init__(self, plugins: Mapping):
        self.plugins = plugins

    def _trusting_compute(self, resource_types: Iterable[str]):
        """The compute driver of a loaded plugin that acts with the owner's authority
        for one of ``resource_types``, or None."""
        for resource_type in resource_types:
            plugin = self.plugins.get(resource_type)
            if plugin is not None and plugin.acts_for_owner:
                return plugin.compute
        return None

    def create(self, context, resource_types: Iterable[str]) -> Optional[str]:
        """A trust id when a lease of these resource types needs one, else None.

        Without a trust (no token under noauth, Keystone refused, e.g. for
        application-credential tokens) the lease is still made: the plugins then act
        with Climate's own account.
        """
        driver = self._trusting_compute(resource_types)
        if driver is None:
            return None
        try:
            return driver.create_trust(context)
        except compute_exc.ComputeError as error:
            LOG.warning('No Keystone trust from user %s of project %s (%s); Climate will '
                        'act on their lease with its own account', context.user_id,
                        context.project_id, error.message)
            return None

    def revoke(self, trust_id: Optional[str]) -> None:
        """Revoke a lease's trust once nothing will use it. Failures are only logged:
        a trust outliving its lease grants nothing Climate would use."""
        if not trust_id:
            return
        driver = self._trusting_compute(list(self.plugins))
        if driver is None:
            return
        try:
            driver.delete_trust(trust_id)
        except compute_exc.ComputeError as error:
            LOG.warning('Could not delete Keystone trust %s: %s', trust_id, error.message)
