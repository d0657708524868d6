"""Placement, for capacity reservations: custom resource classes and their inventory.

A capacity reservation ``R`` holds ``n`` instances on a compute node; so that Nova can
never boot more than ``n`` servers of ``R``'s flavor there, the node's tree in
Placement gets ``n`` units of the custom resource class ``CUSTOM_RESERVATION_<R>``
and the flavor asks for one unit (``resources:CUSTOM_RESERVATION_<R>=1``). Nova's
scheduler then claims one unit per boot in Placement, and Placement's claim is atomic
(guarded by the provider's generation): boots racing for the last unit cannot both
win, the loser gets NoValidHost. That needs Placement's ``[placement]
allocation_conflict_retry_count = 1``: its server-side retry of a claim after a
generation conflict counts the claim's own first attempt as earlier usage, and lets it
through over capacity (the install guide says how this was measured).

The units sit on a *reservation provider*, a child of the compute node's provider,
one per class and node (its uuid derived from both, named
``climate:<class>@<node>``), not on the compute node's provider itself: nova-compute
owns that provider's inventory and rewrites it whole (its periodic update would drop a
class it does not know). A child in the same tree is left alone by nova-compute and
its units still count in the compute node's allocation candidates (nested providers,
Placement 1.29+). One child per reservation and node means that only the manager
handling that reservation ever writes it, and that deleting it when its units go (so
that it never keeps Nova from deleting the compute node's provider) cannot take
another reservation's units with it.

``PlacementClient`` speaks microversion ``1.26`` (children since 1.14, a body from
``POST /resource_providers`` since 1.20, ``reserved`` equal to ``total`` since 1.26)
through the [nova] account's session (``climate.compute.session``). An inventory is
set with a whole-set ``PUT`` carrying the provider's generation; a 409 because the
provider changed meanwhile is retried on the fresh state.
"""

import re
import urllib.parse
import uuid

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
_NAMESPACE = uuid.UUID('0c6b1f4e-54e5-4bd5-9a53-6f1f4c2d8a11')


def resource_class(reservation_id):
    """``CUSTOM_RESERVATION_<ID>``: the id upper-cased, ``-`` (and anything Placement
    does not allow in a class name) as ``_``."""
    return CLASS_PREFIX + _NOT_CLASS_CHARS.sub('_', reservation_id.upper())


def provider_uuid(node, resource_class_name):
    """The uuid of the reservation provider of the class on ``node``."""
    return str(uuid.uuid5(_NAMESPACE, f'{resource_class_name}@{node}'))


def provider_name(node, resource_class_name):
    return f'{PROVIDER_PREFIX}{resource_class_name}@{node}'[:200]


class InventoryInUse(exceptions.ComputeError):
    """Placement refuses to drop units: servers still hold some."""


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

    def _ensure_provider(self, node, resource_class_name):
        """The reservation provider's uuid, made under the node's provider if
        missing.

        :raises HypervisorNotFound: Placement has no provider named ``node``.
        """
        child = provider_uuid(node, resource_class_name)
        status, _ = self._call('GET', f'/resource_providers/{child}', ok=(200, 404))
        if status == 200:
            return child
        root = self.find_provider(node)
        if root is None:
            raise exceptions.HypervisorNotFound(
                f'Placement has no resource provider for compute node {node!r}')
        # 409: made meanwhile (the same uuid and name), which is as good.
        self._call('POST', '/resource_providers',
                   {'uuid': child, 'name': provider_name(node, resource_class_name),
                    'parent_provider_uuid': root}, ok=(200, 409))
        return child

    def _delete_provider(self, child):
        """Delete a reservation provider, its units with it; 404 is fine.

        :raises InventoryInUse: servers hold units of it.
        """
        status, data = self._call('DELETE', f'/resource_providers/{child}',
                                  ok=(204, 404, 409))
        if status == 409:
            raise InventoryInUse(f'Placement: provider {child} has allocations: '
                                 f'{_first_error(data).get("detail")}', status_code=409)

    def _providers_named(self, prefix):
        """Every provider whose name starts with ``prefix`` (a listing of all
        providers: for clean-ups and an operator's check, not a request path)."""
        _, data = self._call('GET', '/resource_providers')
        return [p for p in (data or {}).get('resource_providers') or []
                if p['name'].startswith(prefix)]

    def reservation_providers(self, resource_class_name):
        """``{node: provider uuid}`` of every reservation provider of the class (only
        for the rare clean-up of left-overs)."""
        prefix = f'{PROVIDER_PREFIX}{resource_class_name}@'
        return {p['name'][len(prefix):]: p['uuid']
                for p in self._providers_named(prefix)}

    def overclaimed(self):
        """``[(provider name, class, used, total)]`` of every reservation provider
        whose usage of a class is above that class's ``total``."""
        found = []
        for provider in self._providers_named(PROVIDER_PREFIX):
            url = f'/resource_providers/{provider["uuid"]}'
            status, inventories = self._call('GET', url + '/inventories', ok=(200, 404))
            if status == 404:
                continue
            status, usages = self._call('GET', url + '/usages', ok=(200, 404))
            if status == 404:
                continue
            for name, record in sorted(inventories['inventories'].items()):
                used = usages['usages'].get(name, 0)
                if used > record['total']:
                    found.append((provider['name'], name, used, record['total']))
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
        """``node`` offers exactly ``total`` units of the class (0: none).
        Idempotent.

        :raises HypervisorNotFound: ``total`` > 0 and ``node`` has no provider.
        :raises InventoryInUse: ``total`` 0 while servers hold units.
        """
        if total <= 0:
            self._delete_provider(provider_uuid(node, resource_class_name))
            return
        self.ensure_resource_class(resource_class_name)
        for _attempt in range(CONFLICT_RETRIES):
            child = self._ensure_provider(node, resource_class_name)
            if self._put_inventory(child, resource_class_name, _inventory(total)):
                return
        raise exceptions.ComputeError(
            f'Placement: the provider of {resource_class_name} on {node} kept '
            f'vanishing', retryable=True)

    def remove_reservation_inventory(self, node, resource_class_name):
        """``node`` offers no unit of the class; no error when the node, the
        provider or the units are gone. When servers still hold units (Placement
        refuses), none can be taken any more (``reserved`` = ``total``) and the
        answer is False: call again once the servers are gone."""
        child = provider_uuid(node, resource_class_name)
        try:
            self._delete_provider(child)
        except InventoryInUse:
            inventory = self.inventory(child, resource_class_name)
            if inventory is not None:
                self._put_inventory(child, resource_class_name,
                                    dict(inventory, reserved=inventory['total']))
            return False
        return True

    def inventory(self, child, resource_class_name):
        """The class's inventory record on provider ``child``, or None."""
        status, data = self._call('GET', f'/resource_providers/{child}/inventories',
                                  ok=(200, 404))
        if status == 404:
            return None
        return data['inventories'].get(resource_class_name)

    def _put_inventory(self, child, resource_class_name, wanted):
        """Make ``wanted`` the class's inventory on ``child`` with a whole-set PUT
        guarded by the provider's generation, again on the fresh state after a
        concurrent change. False when the provider is gone."""
        url = f'/resource_providers/{child}/inventories'
        for _attempt in range(CONFLICT_RETRIES):
            status, data = self._call('GET', url, ok=(200, 404))
            if status == 404:
                return False
            current = data['inventories'].get(resource_class_name)
            if current is not None and all(current.get(k) == v
                                           for k, v in wanted.items()):
                return True
            status, _ = self._call('PUT', url, {
                'resource_provider_generation': data['resource_provider_generation'],
                'inventories': {resource_class_name: wanted}}, ok=(200, 404, 409))
            if status != 409:
                return status == 200
            LOG.debug('Provider %s changed meanwhile; setting its %s inventory again',
                      child, resource_class_name)
        raise exceptions.ComputeError(
            f'Placement: provider {child} kept changing while its '
            f'{resource_class_name} inventory was set', retryable=True, status_code=409)


def _inventory(total):
    # One unit per server; ``max_unit`` lets a (hypothetical) multi-unit request fit.
    return {'total': total, 'reserved': 0, 'min_unit': 1, 'max_unit': total,
            'step_size': 1, 'allocation_ratio': 1.0}


def _first_error(data):
    errors = data.get('errors') if isinstance(data, dict) else None
    return errors[0] if errors else {}
