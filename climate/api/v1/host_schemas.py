"""JSON schemas of host and host-property bodies (``/v1/os-hosts``).

A host body is flat: ``name`` (or ``id``) of the hypervisor, and every other key an
extra capability with a scalar value (python-blazarclient sends strings) and a name of
at most 64 characters (Blazar's message when longer).
"""

import functools

from climate import exceptions

CAPABILITY_VALUE = {'type': ['string', 'number', 'boolean'],
                    'description_error': 'an extra capability must be a string, '
                                         'a number or a boolean'}
MAX_CAPABILITY_KEY = 64
KEY = {'maxLength': MAX_CAPABILITY_KEY, 'raises': exceptions.ExtraCapabilityTooLong}

CREATE = {
    'type': 'object',
    'properties': {
        'name': {'type': 'string', 'minLength': 1, 'maxLength': 255},
        'id': {'type': ['string', 'integer'], 'minLength': 1, 'maxLength': 255},
    },
    'additionalProperties': CAPABILITY_VALUE,
    'propertyNames': KEY,
    'anyOf': [{'required': ['name']}, {'required': ['id']}],
}

UPDATE = {
    'type': 'object',
    'additionalProperties': CAPABILITY_VALUE,
    'propertyNames': KEY,
    'allOf': [{'minProperties': 1, 'raises': functools.partial(
        exceptions.InvalidInput, message='No data to update')}],
}

PROPERTY_UPDATE = {
    'type': 'object',
    'properties': {'private': {'type': 'boolean'}},
    'required': ['private'],
}

REALLOCATE = {
    'type': 'object',
    'properties': {'lease_id': {'type': 'string', 'minLength': 1, 'maxLength': 36},
                   'reservation_id': {'type': 'string', 'minLength': 1,
                                      'maxLength': 36}},
    'additionalProperties': False,
}

MAINTENANCE = {
    'type': 'object',
    'properties': {'start_date': {'type': 'string', 'minLength': 1, 'maxLength': 64},
                   'end_date': {'type': 'string', 'minLength': 1, 'maxLength': 64},
                   'reason': {'type': ['string', 'null'], 'maxLength': 255},
                   'force': {'type': 'boolean'}},
    'required': ['start_date', 'end_date'],
    'additionalProperties': False,
}
