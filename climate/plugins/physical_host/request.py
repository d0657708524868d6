"""The physical:host reservation request: its fields, checked and normalised.

Fields (Blazar's, section 5.1 of the API reference):

``min``, ``max``
    how many hosts: integers, or strings holding one (``"2"``); ``1 <= min <= max``.
``hypervisor_properties``, ``resource_properties``
    requirements (see :mod:`requirements`); optional here, ``""`` by default.
``before_end``
    ``""`` (nothing), ``"snapshot"`` or ``"default"`` (``[physical:host]
    before_end`` decides); ``"default"`` when absent.

Every error is a 400 naming the field.
"""

import json
import re

from climate import exceptions
from climate.plugins.physical_host import requirements

BEFORE_END_CHOICES = ('', 'snapshot', 'default')
PROPERTY_FIELDS = ('hypervisor_properties', 'resource_properties')
FIELDS = ('min', 'max', 'before_end') + PROPERTY_FIELDS
_INTEGER = re.compile(r'^\s*[+-]?\d+\s*$')
# Far more hosts than any cloud has; keeps values inside every integer column.
MAX_COUNT = 100000


def parse_count(name, value):
    """An int from an int or an int-like string; 400 naming ``name`` otherwise."""
    if isinstance(value, bool):
        raise exceptions.MalformedParameter(param=name)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _INTEGER.match(value):
        value = int(value)
    if not isinstance(value, int):
        raise exceptions.MalformedParameter(
            f'Malformed parameter {name}: {value!r} is not an integer')
    if not 1 <= value <= MAX_COUNT:
        raise exceptions.InvalidInput(
            f'Invalid value of {name}: {value} (it must be between 1 and {MAX_COUNT})')
    return value


def check_range(minimum, maximum):
    if minimum > maximum:
        raise exceptions.InvalidRange(
            f'Invalid values for min/max of hosts: min ({minimum}) is greater than '
            f'max ({maximum})')


def parse_before_end(value):
    if value is None:
        return 'default'
    if value not in BEFORE_END_CHOICES:
        raise exceptions.MalformedParameter(
            f'Malformed parameter before_end: {value!r} (use "", "snapshot" or '
            f'"default")')
    return value


def normalise_properties(field, value):
    """Check the syntax and return the text to store (``""`` for no requirement)."""
    parsed = requirements.parse(field, value)
    if not parsed:
        return ''
    if isinstance(value, str):
        return value
    return json.dumps(value)


def validate_create(values):
    """The normalised fields of a new reservation."""
    for name in ('min', 'max'):
        if values.get(name) is None:
            raise exceptions.MissingParameter(param=name)
    minimum = parse_count('min', values['min'])
    maximum = parse_count('max', values['max'])
    check_range(minimum, maximum)
    result = {'min': minimum, 'max': maximum,
              'before_end': parse_before_end(values.get('before_end'))}
    for field in PROPERTY_FIELDS:
        result[field] = normalise_properties(field, values.get(field))
    return result


def validate_update(values, current):
    """The fields of ``current`` (a normalised reservation) changed by ``values``.

    Other keys are ignored, as Blazar does (clients may send a reservation back
    with its read-only fields).
    """
    result = dict(current)
    for name in ('min', 'max'):
        if values.get(name) is not None:
            result[name] = parse_count(name, values[name])
    check_range(result['min'], result['max'])
    if 'before_end' in values:
        result['before_end'] = parse_before_end(values['before_end'])
    for field in PROPERTY_FIELDS:
        if field in values:
            result[field] = normalise_properties(field, values[field])
    return result
