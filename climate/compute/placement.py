"""Placement, for capacity reservations: custom resource classes and their inventory.

A capacity reservation ``R`` holds ``n`` instances on a compute node; so that Nova can
never boot more than ``n`` servers of ``R``'s flavor there, the node's tree in
Placement gets ``n`` units of the custom resource class ``CUSTOM_RESERVATION_<R>``
and the flavor asks for one unit (``resources:CUSTOM_RESERVATION_<R>=1``). Nova's
scheduler then claims one unit per boot in Placement, and Placement's claim is atomic
(guarded by the provider's generation): boots racing for the last unit cannot both
win, the loser gets NoValidHost.

The units sit on a *reservation provider*, a child of the compute node's provider
named ``climate:<node>``, not on the compute node's provider itself: nova-compute
owns that provider's inventory and rewrites it whole (its periodic update would drop
a class it does not know). A child in the same tree is left alone by nova-compute
and is still part of the compute node's allocation candidates (nested providers,
Placement 1.29+). The child is deleted when its inventory becomes empty, so that it
never stops Nova from deleting the compute node's provider.

``PlacementClient`` speaks microversion ``1.26`` (children since 1.14, a body from
``POST /resource_providers`` since 1.20, ``reserved`` equal to ``total`` since 1.26)
through the [nova] account's session (``climate.compute.session``). An inventory is
changed with a whole-set ``PUT`` carrying the provider's generation; a 409 because
another writer changed the provider meanwhile is retried on the fresh state.
"""

import re
import urllib.parse

from keystoneauth1 import adapter as ks_adapter
from oslo_log import log as logging

from climate.compute import exceptions
from climate.compute import session as account_session

LOG = logging.getLogger(__name__)

MICROVERSION = '1.26'
CLASS_PREFIX = 'CUSTOM_RESERVATION_'
PROVIDER_PREFIX = 'climate:'
#: Attempts of a generation-guarded change before giving up (retryably).
CONFLICT_RETRIES = 10
_NOT_CLASS_CHARS = re.compile(r'[^A-Z0-9_]')


def resource_class(reservation_id):
    """``CUSTOM_RESERVATION_<ID>``: the id upper-cased, ``-`` (and anything Placement
    does not allow in a class name) as ``_``."""
    return CLASS_PREFIX + _NOT_CLASS_CHARS.sub('_', reservation_id.upper())


def reservation_provider_name(node):
    return PROVIDER_PREFIX + node


class InventoryInUse(exceptions.ComputeError):
    """Placement refuses to drop the class: servers still hold units of it."""


class PlacementClient:
    """Placement seen with ``account``'s session, catalog and auth plugin."""

    def __init__(self, account):
        self._adapter = ks_adapter.Adapter(
            account.session, auth=account.auth, service_type='placement',
            interface=account.interface, region_name=account.region_name,
            connect_retries=account.connect_retries,
            default_microversion=MICROVERSION)

    # --- HTTP ----------------------------------------------------------------------

    def _call(self, method, url, body=None, ok=(200,)):
        """``(status, JSON body or None)``; statuses other than ``ok`` raise."""
        with account_session.translated():
            response = self._adapter.request(url, method, json=body, raise_exc=False)
        try:
            data = response.json() if response.content else None
        except ValueError:
            data = None
        error = _first_error(data)
        message = (f'Placement: {method} {url} answered {response.status_code}: '
                   f'{error.get("detail") or response.text[:300]}')
        if response.status_code == 409 and \
                error.get('code') == 'placement.inventory.inuse':
            raise InventoryInUse(message, status_code=409)
        if response.status_code in ok:
            return response.status_code, data
        raise account_session.http_error(response.status_code, message)

    # --- providers -----------------------------------------------------------------

    def find_provider(self, name):
        """The uuid of the provider named ``name``, or None."""
        _, data = self._call(
            'GET', '/resource_providers?' + urllib.parse.urlencode({'name': name}))
        providers = (data or {}).get('resource_providers') or []
        return providers[0]['uuid'] if providers else None

    def _reservation_provider(self, node, create):
        name = reservation_provider_name(node)
        found = self.find_provider(name)
        if found is not None or not create:
            return found
        root = self.find_provider(node)
        if root is None:
            raise exceptions.HypervisorNotFound(
                f'Placement has no resource provider for compute node {node!r}')
        status, data = self._call('POST', '/resource_providers',
                                  {'name': name, 'parent_provider_uuid': root},
                                  ok=(200, 409))
        if status == 200:
            return data['uuid']
        found = self.find_provider(name)         # made meanwhile by another manager
        if found is None:
            raise exceptions.ComputeError(
                f'Placement refused to create provider {name!r}', retryable=True,
                status_code=409)
        return found

    # --- resource classes ----------------------------------------------------------

    def ensure_resource_class(self, name):
        """Create the custom class (no error if it exists). Idempotent."""
        self._call('PUT', f'/resource_classes/{name}', ok=(201, 204))

    def delete_resource_class(self, name):
        """Delete the class; no error if it is gone.

        :raises InventoryInUse: (409) some provider still has inventory of it.
        """
        status, _ = self._call('DELETE', f'/resource_classes/{name}',
                               ok=(204, 404, 409))
        if status == 409:
            raise InventoryInUse(f'Placement: resource class {name} is still in use',
                                 status_code=409)

    # --- inventories ---------------------------------------------------------------

    def set_reservation_inventory(self, node, resource_class_name, total):
        """The reservation provider of ``node`` holds exactly ``total`` units of the
        class (``total`` 0: none). Idempotent.

        :raises HypervisorNotFound: ``total`` > 0 and ``node`` has no provider.
        :raises InventoryInUse: fewer units than servers hold cannot be dropped.
        """
        if total > 0:
            self.ensure_resource_class(resource_class_name)
        provider = self._reservation_provider(node, create=total > 0)
        if provider is None:
            return
        wanted = None if total <= 0 else _inventory(total)
        remaining = self._change_inventory(provider, resource_class_name, wanted)
        if not remaining:
            # The provider only exists for reservations' units; an empty one would
            # keep Nova from deleting the compute node's provider (its parent).
            self._call('DELETE', f'/resource_providers/{provider}',
                       ok=(204, 404, 409))

    def remove_reservation_inventory(self, node, resource_class_name):
        """Drop the class from ``node``'s reservation provider; no error when the
        node, the provider or the inventory is gone. When servers still hold units
        (Placement refuses), no new unit can be taken (``reserved`` = ``total``) and
        ``False`` is returned: call again once the servers are gone."""
        try:
            self.set_reservation_inventory(node, resource_class_name, 0)
        except InventoryInUse:
            provider = self._reservation_provider(node, create=False)
            if provider is not None:
                self._change_inventory(provider, resource_class_name, 'block')
            return False
        return True

    def reservation_providers(self):
        """``{node: provider uuid}`` of every reservation provider (a listing of all
        providers: only for the rare clean-up of left-overs)."""
        _, data = self._call('GET', '/resource_providers')
        return {p['name'][len(PROVIDER_PREFIX):]: p['uuid']
                for p in (data or {}).get('resource_providers') or []
                if p['name'].startswith(PROVIDER_PREFIX) and
                p.get('parent_provider_uuid')}

    def inventory(self, node, resource_class_name):
        """The inventory record of the class on ``node``'s reservation provider, or
        None."""
        provider = self._reservation_provider(node, create=False)
        if provider is None:
            return None
        _, data = self._call('GET', f'/resource_providers/{provider}/inventories',
                             ok=(200, 404))
        return ((data or {}).get('inventories') or {}).get(resource_class_name)

    def _change_inventory(self, provider, resource_class_name, wanted):
        """Put ``wanted`` (a record, None to drop it, ``'block'``) as the class's
        inventory with a whole-set PUT guarded by the provider's generation, again
        on the fresh state after a concurrent change; the classes left."""
        url = f'/resource_providers/{provider}/inventories'
        for _attempt in range(CONFLICT_RETRIES):
            status, data = self._call('GET', url, ok=(200, 404))
            if status == 404:
                return {}
            inventories = dict(data['inventories'])
            current = inventories.get(resource_class_name)
            if wanted == 'block':
                if current is None:
                    return inventories
                new = dict(current, reserved=current['total'])
            else:
                new = wanted
            if new is None:
                inventories.pop(resource_class_name, None)
            else:
                inventories[resource_class_name] = new
            if current == new or (current is not None and new is not None and
                                  all(current.get(k) == v for k, v in new.items())):
                return inventories
            status, _ = self._call('PUT', url, {
                'resource_provider_generation': data['resource_provider_generation'],
                'inventories': inventories}, ok=(200, 404, 409))
            if status == 404:
                return {}
            if status == 200:
                return inventories
            LOG.debug('Provider %s changed meanwhile; setting its %s inventory again',
                      provider, resource_class_name)
        raise exceptions.ComputeError(
            f'Placement: provider {provider} kept changing while its '
            f'{resource_class_name} inventory was set', retryable=True, status_code=409)


def _inventory(total):
    # One unit per server; ``max_unit`` lets a (hypothetical) multi-unit request fit.
    return {'total': total, 'reserved': 0, 'min_unit': 1, 'max_unit': total,
            'step_size': 1, 'allocation_ratio': 1.0}


def _first_error(data):
    errors = (data or {}).get('errors') if isinstance(data, dict) else None
    return errors[0] if errors else {}
