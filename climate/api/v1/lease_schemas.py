"""JSON schemas of lease bodies (``POST``/``PUT /v1/leases``).

They check types and shapes only, accepting what python-blazarclient sends
(``before_end_date: null``, ``events: []``, the ``""`` defaults it adds for options
left out, int-like strings, ``affinity: "None"``); the manager and the plugins check
meanings and convert values (dates read and in order, counts as integers, requirements
parsed, capacity...). Keys not listed are allowed and ignored.
"""

INT_LIKE = {'description_error': 'must be an integer',
            'anyOf': [{'type': 'integer'},
                      {'type': 'string', 'pattern': r'^\s*(-?[0-9]{1,18})?\s*$'}]}
DATE = {'type': 'string', 'minLength': 1, 'maxLength': 64}
NULLABLE_DATE = {'type': ['string', 'null'], 'maxLength': 64}
PROPERTIES = {'type': 'string', 'description_error': 'must be a JSON string'}
AFFINITY = {'description_error': 'must be true, false, null or "True"/"False"/"None"',
            'anyOf': [{'type': ['boolean', 'null']},
                      {'type': 'string',
                       'pattern': r'^([Tt]rue|[Ff]alse|[Nn]one|TRUE|FALSE|NONE|)$'}]}

# Fields each known resource type may carry, with their types. Other resource types
# (e.g. the dummy plugin's) are checked by their plugin alone.
RESOURCE_FIELDS = {
    'physical:host': {'min': INT_LIKE, 'max': INT_LIKE,
                      'hypervisor_properties': PROPERTIES,
                      'resource_properties': PROPERTIES,
                      'before_end': {'type': 'string'},
                      'on_host_failure': {'type': 'string'}},
    'virtual:instance': {'vcpus': INT_LIKE, 'memory_mb': INT_LIKE, 'disk_gb': INT_LIKE,
                         'amount': INT_LIKE, 'affinity': AFFINITY,
                         'resource_properties': PROPERTIES},
    'flavor:instance': {'flavor_id': {'type': ['string', 'integer']}, 'amount': INT_LIKE,
                        'affinity': AFFINITY},
}


def _typed_reservation(extra_required=()):
    branches = []
    for resource_type, fields in RESOURCE_FIELDS.items():
        branches.append({
            'if': {'properties': {'resource_type': {'const': resource_type}},
                   'required': ['resource_type']},
            'then': {'properties': fields}})
    return {'type': 'object',
            'properties': {'resource_type': {'type': 'string', 'minLength': 1,
                                             'maxLength': 255},
                           'id': {'type': 'string', 'minLength': 1,
                                  'maxLength': 36}},
            'required': list(extra_required),
            'allOf': branches}


# Every field a reservation of any type may change (update bodies carry no type).
UPDATE_FIELDS = {}
for _fields in RESOURCE_FIELDS.values():
    UPDATE_FIELDS.update(_fields)

CREATE = {
    'type': 'object',
    'properties': {
        'name': {'type': 'string', 'minLength': 1, 'maxLength': 80},
        'start_date': DATE,
        'end_date': DATE,
        'before_end_date': NULLABLE_DATE,
        'reservations': {'type': 'array', 'maxItems': 100,
                         'items': _typed_reservation(extra_required=['resource_type'])},
        'events': {'type': 'array', 'items': {'type': 'object'}},
        # Climate's earliest-fit create (climate.manager.earliest): instead of the
        # dates, the window's length in minutes and the range to place it in.
        'earliest': {'type': 'object',
                     'properties': {'duration': INT_LIKE,
                                    'start_after': NULLABLE_DATE,
                                    'end_before': NULLABLE_DATE},
                     'required': ['duration']},
    },
    'required': ['name'],
    'if': {'required': ['earliest']},
    'else': {'required': ['start_date', 'end_date']},
}

UPDATE = {
    'type': 'object',
    'properties': {
        'name': {'type': 'string', 'minLength': 1, 'maxLength': 80},
        'start_date': DATE,
        'end_date': DATE,
        'before_end_date': NULLABLE_DATE,
        'reservations': {
            'type': 'array', 'maxItems': 100,
            'items': {'type': 'object',
                      'properties': dict(UPDATE_FIELDS,
                                         id={'type': 'string', 'maxLength': 36},
                                         resource_type={'type': 'string'})}},
    },
}

# What the API passes on to the manager; everything else in a body is ignored.
CREATE_KEYS = ('name', 'start_date', 'end_date', 'before_end_date', 'reservations',
               'earliest')
UPDATE_KEYS = ('name', 'start_date', 'end_date', 'before_end_date', 'reservations')
