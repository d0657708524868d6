"""JSON schemas of host and host-property bodies (``/v1/os-hosts``).

A host body is flat: ``name`` (or ``id``) of the hypervisor, and every other key an
extra capability with a scalar value (python-blazarclient sends strings).
"""

CAPABILITY_VALUE = {'type': ['string', 'number', 'boolean'],
                    'description_error': 'an extra capability must be a string, '
                                         'a number or a boolean'}
MAX_CAPABILITY_KEY = 64

CREATE = {
    'type': 'object',
    'properties': {
        'name': {'type': 'string', 'minLength': 1, 'maxLength': 255},
        'id': {'type': ['string', 'integer'], 'minLength': 1, 'maxLength': 255},
    },
    'additionalProperties': CAPABILITY_VALUE,
    'anyOf': [{'required': ['name']}, {'required': ['id']}],
}

UPDATE = {
    'type': 'object',
    'additionalProperties': CAPABILITY_VALUE,
}

PROPERTY_UPDATE = {
    'type': 'object',
    'properties': {'private': {'type': 'boolean'}},
    'required': ['private'],
}
