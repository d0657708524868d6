"""``/v1/os-hosts/properties``: the extra capabilities hosts have (``GET``, with
``?detail=`` for values and privacy, ``?all=`` for private ones too) and
``PATCH /v1/os-hosts/properties/{name}`` to make one private or public."""

import pecan

from climate.api import validation
from climate.api.v1 import common
from climate.api.v1 import host_schemas as schemas


class PropertyController:

    def __init__(self, name):
        self.name = name

    @common.resource()
    def index(self):
        common.not_allowed()

    @index.when(**common.method('PATCH'))
    def update(self):
        common.authorize('climate:oshosts:update_resource_properties')
        body = common.body(schemas.PROPERTY_UPDATE)
        found = common.call_host_plugin('update_property', property_name=self.name,
                                        values={'private': body['private']})
        return common.reply({'resource_property': found})


class PropertiesController:

    @common.resource()
    def index(self):
        common.not_allowed()

    @index.when(**common.method('GET'))
    def list(self):
        common.authorize('climate:oshosts:get_resource_properties')
        request = pecan.request
        found = common.call_host_plugin(
            'list_properties', detail=validation.truthy(request.GET.get('detail')),
            all=validation.truthy(request.GET.get('all')))
        return common.reply({'resource_properties': found})

    @pecan.expose()
    def _lookup(self, name, *remainder):
        return PropertyController(name), remainder
