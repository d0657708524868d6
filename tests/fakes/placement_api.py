"""A test double of the part of Placement's API Climate uses, served by ``FakeNova``
under ``/placement`` (and listed in its catalog as service type ``placement``).

Keep it faithful to Placement (microversion 1.26), not to Climate:

* ``GET /resource_providers`` (``name`` filter), ``POST /resource_providers``
  (``name``, ``uuid``, ``parent_provider_uuid``; 409 for a name or uuid taken; 200
  with the provider), ``GET`` and ``DELETE /resource_providers/{uuid}`` (the DELETE
  409 while it has children or allocations; its inventory goes with it);
* ``GET``/``PUT /resource_providers/{uuid}/inventories``: the PUT replaces the whole
  set and must carry the provider's current generation (else 409
  ``placement.concurrent_update``); dropping a class some consumer holds is 409
  ``placement.inventory.inuse``; an unknown resource class is 400; every change
  bumps the generation;
* ``GET /resource_providers/{uuid}/usages``: what ``allocate`` set;
* ``PUT /resource_classes/{name}`` (201 new, 204 existing; only ``CUSTOM_`` names),
  ``DELETE /resource_classes/{name}`` (404 unknown, 409 while any inventory has it).

``FakeNova.add_hypervisor`` makes the compute node's provider (named after the
hypervisor hostname, uuid = the hypervisor id). ``allocate(provider uuid, class,
units)`` stands for servers holding units (Nova's scheduler claiming them; not
checked against the inventory, as Placement's racing claims are not always);
``offer(provider uuid, class, total)`` sets an inventory.
"""

import re
import uuid

STANDARD_CLASSES = frozenset({'VCPU', 'MEMORY_MB', 'DISK_GB'})


class PlacementError(Exception):
    def __init__(self, status, message, code='placement.undefined_code'):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code

    def body(self):
        titles = {400: 'Bad Request', 404: 'Not Found', 409: 'Conflict'}
        return {'errors': [{'status': self.status,
                            'title': titles.get(self.status, 'Error'),
                            'detail': self.message, 'code': self.code,
                            'request_id': f'req-{uuid.uuid4()}'}]}


class FakePlacement:
    """Providers, inventories, custom classes and usages; not locked itself (the
    caller, ``FakeNova``, holds its lock)."""

    def __init__(self):
        self.providers = {}     # uuid -> {'name', 'parent', 'generation', 'inventories'}
        self.classes = set()    # custom resource classes
        self.usages = {}        # (provider uuid, class) -> units held

    # --- hooks ----------------------------------------------------------------------

    def add_provider(self, name, provider_uuid=None, parent=None):
        provider_uuid = provider_uuid or str(uuid.uuid4())
        self.providers[provider_uuid] = {
            'name': name, 'parent': parent, 'generation': 0,
            'inventories': ({} if parent else
                            {'VCPU': _inventory(8), 'MEMORY_MB': _inventory(16384)})}
        return provider_uuid

    def find(self, name):
        return next((u for u, p in self.providers.items() if p['name'] == name), None)

    def allocate(self, provider_uuid, resource_class, units):
        self.usages[(provider_uuid, resource_class)] = units

    def offer(self, provider_uuid, resource_class, total):
        """The provider's inventory of the custom class is ``total`` units."""
        self.classes.add(resource_class)
        self.providers[provider_uuid]['inventories'][resource_class] = _inventory(total)

    def inventories_of(self, name):
        provider = self.find(name)
        return None if provider is None else \
            dict(self.providers[provider]['inventories'])

    # --- API ------------------------------------------------------------------------

    def handle(self, method, path, query, body):
        routes = [
            ('GET', r'/resource_providers', self._list),
            ('POST', r'/resource_providers', self._create),
            ('GET', r'/resource_providers/([^/]+)', self._show),
            ('DELETE', r'/resource_providers/([^/]+)', self._delete),
            ('GET', r'/resource_providers/([^/]+)/inventories', self._inventories),
            ('PUT', r'/resource_providers/([^/]+)/inventories', self._put_inventories),
            ('GET', r'/resource_providers/([^/]+)/usages', self._usages),
            ('PUT', r'/resource_classes/([^/]+)', self._put_class),
            ('DELETE', r'/resource_classes/([^/]+)', self._delete_class),
        ]
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                return handler(*match.groups(), query=query, body=body)
        raise PlacementError(404, f'The resource could not be found: {path}')

    def _render(self, provider_uuid):
        provider = self.providers[provider_uuid]
        root = provider_uuid
        while self.providers[root]['parent']:
            root = self.providers[root]['parent']
        return {'uuid': provider_uuid, 'name': provider['name'],
                'generation': provider['generation'],
                'parent_provider_uuid': provider['parent'],
                'root_provider_uuid': root}

    def _provider(self, provider_uuid):
        if provider_uuid not in self.providers:
            raise PlacementError(404, f'No resource provider with uuid {provider_uuid} '
                                      f'found', 'placement.resource_provider.not_found')
        return self.providers[provider_uuid]

    def _list(self, query, body):
        name = (query.get('name') or [None])[0]
        return 200, {'resource_providers': [
            self._render(u) for u, p in self.providers.items()
            if name is None or p['name'] == name]}, []

    def _create(self, query, body):
        name, parent = body.get('name'), body.get('parent_provider_uuid')
        if not name:
            raise PlacementError(400, "'name' is a required property")
        if self.find(name) is not None:
            raise PlacementError(409, f'Conflicting resource provider name: {name} '
                                      f'already exists.', 'placement.duplicate_name')
        if body.get('uuid') in self.providers:
            raise PlacementError(409, f'Conflicting resource provider uuid: '
                                      f'{body["uuid"]} already exists.')
        if parent is not None and parent not in self.providers:
            raise PlacementError(400, f'parent provider UUID {parent} does not exist')
        return 200, self._render(self.add_provider(name, body.get('uuid'),
                                                   parent)), []

    def _usages(self, provider_uuid, query, body):
        provider = self._provider(provider_uuid)
        return 200, {'resource_provider_generation': provider['generation'],
                     'usages': {name: units for (held, name), units in self.usages.items()
                                if held == provider_uuid}}, []

    def _show(self, provider_uuid, query, body):
        self._provider(provider_uuid)
        return 200, self._render(provider_uuid), []

    def _delete(self, provider_uuid, query, body):
        self._provider(provider_uuid)
        if any(p['parent'] == provider_uuid for p in self.providers.values()):
            raise PlacementError(409, 'Unable to delete parent resource provider '
                                      f'{provider_uuid}: It has child resource '
                                      'providers.', 'placement.resource_provider.'
                                      'cannot_delete_parent')
        if any(u == provider_uuid and n for (u, _), n in self.usages.items()):
            raise PlacementError(409, f'Unable to delete resource provider '
                                      f'{provider_uuid}: Resource provider has '
                                      f'allocations.')
        del self.providers[provider_uuid]
        return 204, None, []

    def _inventories(self, provider_uuid, query, body):
        provider = self._provider(provider_uuid)
        return 200, {'resource_provider_generation': provider['generation'],
                     'inventories': provider['inventories']}, []

    def _put_inventories(self, provider_uuid, query, body):
        provider = self._provider(provider_uuid)
        if body.get('resource_provider_generation') != provider['generation']:
            raise PlacementError(409, 'resource provider generation conflict',
                                 'placement.concurrent_update')
        inventories = body.get('inventories') or {}
        for name, record in inventories.items():
            if name not in STANDARD_CLASSES and name not in self.classes:
                raise PlacementError(400, f'Unknown resource class in inventory for '
                                          f'resource provider {provider_uuid}: {name}')
            if not 0 <= record.get('reserved', 0) <= record['total']:
                raise PlacementError(400, f'Unable to update inventory: reserved of '
                                          f'{name} exceeds its total')
        for name in provider['inventories']:
            if name not in inventories and self.usages.get((provider_uuid, name)):
                raise PlacementError(409, f'Inventory for {name} on resource provider '
                                          f'{provider_uuid} in use.',
                                     'placement.inventory.inuse')
        provider['inventories'] = {name: dict(_inventory(record['total']), **record)
                                   for name, record in inventories.items()}
        provider['generation'] += 1
        return 200, {'resource_provider_generation': provider['generation'],
                     'inventories': provider['inventories']}, []

    def _put_class(self, name, query, body):
        if not re.fullmatch(r'CUSTOM_[A-Z0-9_]+', name):
            raise PlacementError(400, f'Failed validating pattern for {name}')
        if name in self.classes:
            return 204, None, []
        self.classes.add(name)
        return 201, None, []

    def _delete_class(self, name, query, body):
        if name not in self.classes:
            raise PlacementError(404, f'No such resource class {name}.')
        if any(name in p['inventories'] for p in self.providers.values()):
            raise PlacementError(409, f'Error in delete resource class: Cannot delete '
                                      f'resource class {name}. Class is in use in '
                                      f'inventory.')
        self.classes.discard(name)
        return 204, None, []


def _inventory(total):
    return {'total': total, 'reserved': 0, 'min_unit': 1, 'max_unit': total,
            'step_size': 1, 'allocation_ratio': 1.0}
