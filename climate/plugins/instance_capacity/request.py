"""What a capacity reservation request may contain, checked and normalised.

``virtual:instance`` without ``resource_id`` (Blazar's capacity mode):

``vcpus``, ``memory_mb``, ``disk_gb``  the size of one instance (integers >= 0,
                 ``vcpus`` and ``memory_mb`` >= 1; int-like strings accepted);
``amount``       how many instances (1 .. 100000);
``affinity``     true (all on one host), false (distinct hosts) or null (anywhere);
                 also the strings python-blazarclient sends: ``"True"``, ``"False"``,
                 ``"None"`` (its default), in any case, and ``""``;
``resource_properties``  host requirements over the hosts' capabilities and fields
                 (the language of ``physical:host``), ``""`` for none;
``on_end``       what the end does to the servers booted with the reservation's
                 flavor: ``delete`` or ``snapshot_and_delete`` (the values of the
                 server mode's ``on_end`` that fit servers Climate did not make);
                 absent, ``""`` or ``default``: ``[virtual:instance] capacity_on_end``.

``flavor:instance``: ``flavor_id`` (an existing flavor; the size comes from it),
``amount`` and ``on_end``; ``affinity`` must be null-ish; ``resource_properties`` is ignored on
input, as Blazar does.

Every error names the field it is about (400).
"""

import json

from climate import exceptions
from climate.common import numbers
from climate.plugins.physical_host import request as host_request
from climate.plugins.physical_host import requirements

MAX_AMOUNT = 100000
MAX_SIZE = 2 ** 31 - 1
SIZE_FIELDS = ('vcpus', 'memory_mb', 'disk_gb')
VIRTUAL_FIELDS = SIZE_FIELDS + ('amount', 'affinity', 'resource_properties',
                                'on_host_failure', 'on_end')
FLAVOR_FIELDS = ('flavor_id', 'amount', 'affinity', 'resource_properties',
                 'on_host_failure', 'on_end')
ON_END_ACTIONS = ('delete', 'snapshot_and_delete')
#: Fields Climate and clients may send back unchanged (read-only in a request).
OUTPUT_FIELDS = ('resource_id', 'flavor_id', 'aggregate_id', 'server_group_id',
                 'status', 'lease_id', 'created_at', 'updated_at',
                 'missing_resources', 'resources_changed', 'before_end')
_AFFINITY = {'true': True, 'false': False, 'none': None, 'null': None, '': None}


integer = numbers.parse_integer


def affinity(value):
    """True, False or None from what clients send."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _AFFINITY:
        return _AFFINITY[value.strip().lower()]
    raise exceptions.MalformedParameter(
        f'Malformed parameter affinity: {value!r} (use true, false or null)')


def on_end(value, default):
    """The end action: one of ``ON_END_ACTIONS``; ``default`` when not given."""
    if value is None or (isinstance(value, str) and
                         value.strip().lower() in ('', 'default')):
        return default
    if isinstance(value, str) and value.strip().lower() in ON_END_ACTIONS:
        return value.strip().lower()
    raise exceptions.MalformedParameter(
        f'Malformed parameter on_end: {value!r} (use {" or ".join(ON_END_ACTIONS)}, '
        f'or default)')


def resource_properties(value):
    """The text to store ("" for none); raises 400 on malformed requirements."""
    parsed = requirements.parse('resource_properties', value)
    if not parsed:
        return ''
    return value if isinstance(value, str) else json.dumps(value)


def parse_virtual(values, default_on_end='delete'):
    """The normalised request of a capacity-mode ``virtual:instance`` reservation."""
    unknown = sorted(k for k in values if k not in VIRTUAL_FIELDS + OUTPUT_FIELDS)
    if unknown:
        raise exceptions.InvalidInput(
            f'{", ".join(map(str, unknown))}: unknown field(s) of a capacity-mode '
            f'virtual:instance reservation (expected {", ".join(VIRTUAL_FIELDS)})')
    for name in ('vcpus', 'memory_mb', 'disk_gb', 'amount'):
        if values.get(name) in (None, ''):
            raise exceptions.MissingParameter(param=name)
    return {'vcpus': integer('vcpus', values['vcpus'], 1, MAX_SIZE),
            'memory_mb': integer('memory_mb', values['memory_mb'], 1, MAX_SIZE),
            'disk_gb': integer('disk_gb', values['disk_gb'], 0, MAX_SIZE),
            'amount': integer('amount', values['amount'], 1, MAX_AMOUNT),
            'affinity': affinity(values.get('affinity')),
            'resource_properties': resource_properties(
                values.get('resource_properties')),
            'on_host_failure': host_request.parse_on_host_failure(
                values.get('on_host_failure')),
            'on_end': on_end(values.get('on_end'), default_on_end),
            'source_flavor_id': None, 'extra_specs': {}}


def _flavor_id(value):
    """A flavor id as Nova's ``flavorRef`` takes it: a string, or an integer (the
    classic ids ``1`` to ``5``, which a command line sends as numbers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def parse_flavor(values, default_on_end='delete'):
    """``(flavor id, amount, on_host_failure, on_end)`` of a ``flavor:instance``
    reservation (the size is read from the flavor by the plugin)."""
    _refuse_unknown(values, FLAVOR_FIELDS)
    flavor_id = _flavor_id(values.get('flavor_id'))
    if flavor_id in (None, ''):
        raise exceptions.MissingParameter(param='flavor_id')
    if not isinstance(flavor_id, str) or len(flavor_id) > 255:
        raise exceptions.MalformedParameter(
            f'Malformed parameter flavor_id: {flavor_id!r}')
    if values.get('amount') in (None, ''):
        raise exceptions.MissingParameter(param='amount')
    if affinity(values.get('affinity')) is not None:
        raise exceptions.InvalidInput(
            'affinity: flavor:instance reservations take no affinity (use '
            'virtual:instance for affinity or anti-affinity)')
    return (flavor_id.strip(), integer('amount', values['amount'], 1, MAX_AMOUNT),
            host_request.parse_on_host_failure(values.get('on_host_failure')),
            on_end(values.get('on_end'), default_on_end))


def parse_update(values, current, started, resource_type, default_on_end='delete'):
    """``current`` (the stored fields) with the changes in ``values``.

    ``on_end`` may change until the end (``default`` sets the operator's default).

    Before the start every field but ``affinity`` may change (its server group
    belongs to the owner: Blazar recreates it, Climate answers 409); once started
    only ``amount``, and only upwards (the instances may be running). Read-only
    output fields are ignored.

    :raises CantUpdateParameter: (409) a change not allowed now.
    """
    wanted = dict(current)
    allowed = ('amount', 'on_host_failure', 'on_end') if resource_type == 'flavor:instance' \
        else VIRTUAL_FIELDS
    unknown = sorted(k for k in values
                     if k not in allowed + OUTPUT_FIELDS + FLAVOR_FIELDS +
                     VIRTUAL_FIELDS)
    if unknown:
        raise exceptions.InvalidInput(
            f'{", ".join(map(str, unknown))}: unknown field(s) of a {resource_type} '
            f'reservation')
    if resource_type == 'flavor:instance':
        if 'flavor_id' in values and _flavor_id(values['flavor_id']) not in (
                None, '', current['source_flavor_id'], current.get('reservation_id')):
            raise exceptions.CantUpdateParameter(param='flavor_id')
        if 'affinity' in values and affinity(values['affinity']) is not None:
            raise exceptions.CantUpdateParameter(param='affinity')
        values = {k: v for k, v in values.items()
                  if k in ('amount', 'on_host_failure', 'on_end')}
    for name in SIZE_FIELDS:
        if values.get(name) not in (None, ''):
            wanted[name] = integer(name, values[name], 0 if name == 'disk_gb' else 1,
                                   MAX_SIZE)
    if values.get('amount') not in (None, ''):
        wanted['amount'] = integer('amount', values['amount'], 1, MAX_AMOUNT)
    if 'affinity' in values and affinity(values['affinity']) != current['affinity']:
        # The server group (and its policy) is the owner's: make a new reservation.
        raise exceptions.CantUpdateParameter(param='affinity')
    if 'on_host_failure' in values:
        wanted['on_host_failure'] = host_request.parse_on_host_failure(values['on_host_failure'])
    if values.get('on_end') is not None:
        wanted['on_end'] = on_end(values['on_end'], default_on_end)
    if 'resource_properties' in values:
        wanted['resource_properties'] = resource_properties(
            values['resource_properties'])
    if started:
        changed = sorted(k for k in SIZE_FIELDS + ('resource_properties',)
                         if wanted[k] != current[k])
        if changed:
            raise exceptions.CantUpdateParameter(
                f'{", ".join(changed)} cannot change once the reservation has started '
                f'(only amount may grow)')
        if wanted['amount'] < current['amount']:
            raise exceptions.CantUpdateParameter(
                f'amount cannot shrink below {current["amount"]} once the reservation '
                f'has started')
    return wanted


def _refuse_unknown(values, fields):
    unknown = sorted(k for k in values if k not in fields + OUTPUT_FIELDS)
    if unknown:
        raise exceptions.InvalidInput(
            f'{", ".join(map(str, unknown))}: unknown field(s) of a flavor:instance '
            f'reservation (expected {", ".join(fields)})')
