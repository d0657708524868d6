"""The physical:host reservation request: its fields, checked and normalised.

Fields (Blazar's, section 5.1 of the API reference):

``min``, ``max``
    how many hosts: integers, or strings holding one (``"2"``); ``1 <= min <= max``.
``hypervisor_properties``, ``resource_properties``
    requirements (see :mod:`requirements`); optional here, ``""`` by default.
``before_end``
    ``""`` (nothing), ``"snapshot"`` or ``"default"`` (``[physical:host]
    before_end`` decides); ``"default"`` when absent.
``on_host_failure``
    ``"replace"`` (default: healing moves the reservation off a failed host) or
    ``"keep"`` (the reservation keeps its hosts, and is degraded while one is down).

Every error is a 400 naming the field. These fields are checked and converted here
only (the REST API passes them on as sent): a request becomes a :class:`HostRequest`,
whose requirements are parsed once and then used by the plugin's host search.
"""

import collections.abc
import dataclasses
import json
from typing import Mapping
from typing import Tuple

from climate import exceptions
from climate.common import limits
from climate.common import numbers
from climate.plugins.physical_host import requirements

BEFORE_END_CHOICES = ('', 'snapshot', 'default')
ON_HOST_FAILURE_CHOICES = ('replace', 'keep')
PROPERTY_FIELDS = ('hypervisor_properties', 'resource_properties')
FIELDS = ('min', 'max', 'before_end', 'on_host_failure') + PROPERTY_FIELDS
# Far more hosts than any cloud has; keeps values inside every integer column.
MAX_COUNT = 100000


#: A requirement field, parsed.
Parsed = Tuple[requirements.Requirement, ...]


@dataclasses.dataclass(frozen=True, eq=False)
class HostRequest(collections.abc.Mapping):
    """A checked host request. As a mapping it holds the fields as stored and shown
    (``min``, ``max``, ``before_end`` and the requirement texts, :data:`FIELDS`), so
    it compares equal to the dict of a stored reservation; ``requirements`` holds
    each requirement field parsed."""

    min: int
    max: int
    before_end: str
    hypervisor_properties: str
    resource_properties: str
    on_host_failure: str = 'replace'
    requirements: Mapping[str, Parsed] = \
        dataclasses.field(default_factory=dict, repr=False)

    def __getitem__(self, key):
        if key not in FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(FIELDS)

    def __len__(self):
        return len(FIELDS)


def parse_count(name, value):
    """An int from an int or an int-like string; 400 naming ``name`` otherwise."""
    return numbers.parse_integer(name, value, 1, MAX_COUNT)


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
            f'Malformed parameter before_end: {limits.short_repr(value)} (use "", '
            f'"snapshot" or '
            f'"default")')
    return value


def parse_on_host_failure(value):
    if value is None:
        return 'replace'
    if value not in ON_HOST_FAILURE_CHOICES:
        raise exceptions.MalformedParameter(
            f'Malformed parameter on_host_failure: {value!r} (use "replace" or '
            f'"keep")')
    return value


def parse_properties(field, value):
    """``(text to store, parsed requirements)`` of a requirement field; the text is
    ``""`` for no requirement."""
    parsed = requirements.parse(field, value)
    if not parsed:
        return '', ()
    return (value if isinstance(value, str) else json.dumps(value)), parsed


def validate_create(values):
    """The :class:`HostRequest` of a new reservation."""
    for name in ('min', 'max'):
        if values.get(name) is None:
            raise exceptions.MissingParameter(param=name)
    minimum = parse_count('min', values['min'])
    maximum = parse_count('max', values['max'])
    check_range(minimum, maximum)
    texts, parsed = {}, {}
    for field in PROPERTY_FIELDS:
        texts[field], parsed[field] = parse_properties(field, values.get(field))
    return HostRequest(min=minimum, max=maximum,
                       before_end=parse_before_end(values.get('before_end')),
                       on_host_failure=parse_on_host_failure(
                           values.get('on_host_failure')),
                       requirements=parsed, **texts)


def validate_update(values, current):
    """The :class:`HostRequest` ``current`` (the fields of a stored reservation)
    becomes with the changes in ``values``.

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
    if 'on_host_failure' in values:
        result['on_host_failure'] = parse_on_host_failure(values['on_host_failure'])
    parsed = {}
    for field in PROPERTY_FIELDS:
        # A stored requirement was checked when it was stored; it is read again here
        # because the search needs it parsed, not because it could be wrong.
        source = values[field] if field in values else result[field]
        result[field], parsed[field] = parse_properties(field, source)
    return HostRequest(min=result['min'], max=result['max'],
                       before_end=result['before_end'], requirements=parsed,
                       on_host_failure=result.get('on_host_failure', 'replace'),
                       hypervisor_properties=result['hypervisor_properties'],
                       resource_properties=result['resource_properties'])
