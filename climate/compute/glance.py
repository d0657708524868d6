"""Glance, for the Nova driver's snapshots: the status of the image a snapshot makes.

Nova's createImage answers with the new image's id at once; whether the image became
usable is Glance's to say. It is read from Glance's v2 API (service type ``image``)
through the [nova] account's session and catalog, because Nova's images proxy only
exists up to microversion 2.35. ``GlanceImages`` acts with the auth plugin it is given:
the account's own, or one scoped to a trust (an image made through a trust belongs to
the user and may be visible to them only).
"""

from keystoneauth1 import adapter as ks_adapter

from climate.compute import exceptions
from climate.compute import session as account_session


class GlanceImages:
    """Images of Glance seen with ``auth`` over ``account``'s session."""

    def __init__(self, account, auth):
        self._adapter = ks_adapter.Adapter(
            account.session, auth=auth, service_type='image',
            interface=account.interface, region_name=account.region_name,
            connect_retries=account.connect_retries)

    def get_status(self, image_id):
        """Glance's status of the image, lower case.

        :raises ImageNotFound:
        """
        with account_session.translated(exceptions.ImageNotFound):
            response = self._adapter.get(f'/v2/images/{image_id}')
        return response.json()['status'].lower()
