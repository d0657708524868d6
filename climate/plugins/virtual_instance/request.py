"""What a ``virtual:instance`` reservation request may contain, checked and normalised.

Fields (besides ``resource_type``):

``resource_id``  the UUID of an existing Nova server (required);
``on_end``       ``snapshot_and_delete`` | ``delete`` | ``shelve`` | ``none``; absent or
                 empty: ``[virtual:instance] on_end``;
``before_end``   ``snapshot`` to snapshot the server at the lease's before-end event,
                 ``default`` (or absent/empty) for nothing.

Blazar's capacity-mode fields (``vcpus``, ``memory_mb``, ``disk_gb``, ``amount``,
``affinity``, ``resource_properties``) select the capacity mode when ``resource_id``
is absent or empty (:func:`is_capacity_mode`; parsed by
``climate.plugins.instance_capacity.request``). python-blazarclient sends them, empty,
with every ``virtual:instance`` reservation: with a ``resource_id``, empty ones are
ignored, and filled ones get a 400.
Every error names the field it is about.
"""

import uuid

from oslo_utils import uuidutils

from climate import exceptions
from climate.common import limits
from climate.conf.virtual_instance import ON_END_ACTIONS

BEFORE_END_ACTIONS = ('default', 'snapshot')
CAPACITY_FIELDS = ('vcpus', 'memory_mb', 'disk_gb', 'amount', 'affinity',
                   'resource_properties')
FIELDS = ('resource_id', 'on_end', 'before_end')
_EMPTY = (None, '', 'None', 'none', 'null')


def is_capacity_mode(values):
    """Whether a new reservation asks for capacity (no ``resource_id``, some
    capacity field filled) rather than an existing server."""
    values = _without_type(values)
    return _is_empty(values.get('resource_id')) and \
        bool(_filled_capacity_fields(values))


def parse_create(values, default_on_end):
    """``{'server_id', 'on_end', 'before_end'}`` from a reservation request."""
    values = _without_type(values)
    capacity = _filled_capacity_fields(values)
    _refuse_unknown(values)
    if _is_empty(values.get('resource_id')):
        raise exceptions.MissingParameter(param='resource_id')
    _refuse_capacity(capacity)
    return {'server_id': _server_id(values['resource_id']),
            'on_end': _on_end(values.get('on_end'), default_on_end),
            'before_end': _before_end(values.get('before_end'))}


def parse_update(values, server_id):
    """The changes (``on_end`` and/or ``before_end``) an update request asks for."""
    values = _without_type(values)
    _refuse_capacity(_filled_capacity_fields(values))
    _refuse_unknown(values)
    if not _is_empty(values.get('resource_id')) and \
            _server_id(values['resource_id']) != server_id:
        raise exceptions.CantUpdateParameter(param='resource_id')
    changes = {}
    if 'on_end' in values:
        changes['on_end'] = _on_end(values['on_end'], None)
    if 'before_end' in values:
        changes['before_end'] = _before_end(values['before_end'])
    return changes


def _without_type(values):
    if not isinstance(values, dict):
        raise exceptions.MalformedParameter(param='reservations')
    return {k: v for k, v in values.items() if k not in ('resource_type', 'id')}


def _is_empty(value):
    return value is None or (isinstance(value, str) and value.strip() in _EMPTY)


def _filled_capacity_fields(values):
    return [k for k in CAPACITY_FIELDS if k in values and not _is_empty(values[k])]


def _refuse_capacity(fields):
    if fields:
        raise exceptions.InvalidInput(
            f'{", ".join(fields)}: capacity-mode fields cannot be combined with '
            f'resource_id (give either resource_id, an existing server, or the '
            f'capacity: vcpus, memory_mb, disk_gb, amount)')


def _refuse_unknown(values):
    unknown = sorted(k for k in values if k not in FIELDS + CAPACITY_FIELDS)
    if unknown:
        raise exceptions.InvalidInput(
            f'{", ".join(map(str, unknown))}: unknown field(s) of a virtual:instance '
            f'reservation (expected {", ".join(FIELDS)})')


def _server_id(value):
    if not isinstance(value, str) or not uuidutils.is_uuid_like(value.strip()):
        raise exceptions.InvalidInput(
            f'resource_id must be the UUID of a Nova server, not '
            f'{limits.short_repr(value)}')
    return str(uuid.UUID(value.strip()))


def _on_end(value, default):
    if value in (None, '') and default is not None:
        return default
    if value not in ON_END_ACTIONS:
        raise exceptions.InvalidInput(
            f'on_end must be one of {", ".join(ON_END_ACTIONS)}, '
            f'not {limits.short_repr(value)}')
    return value


def _before_end(value):
    if value is None or value == '':
        return 'default'
    if value not in BEFORE_END_ACTIONS:
        raise exceptions.InvalidInput(
            f'before_end must be one of {", ".join(BEFORE_END_ACTIONS)}, '
            f'not {limits.short_repr(value)}')
    return value
