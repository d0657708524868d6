"""Host requirements: Blazar's small JSON query language, parsed and checked.

A reservation's ``hypervisor_properties`` and ``resource_properties`` are JSON text
(or, leniently, the already-decoded list)::

    ""  or  "[]"                                    no requirement
    ["<op>", "$<name>", "<value>"]                  one comparison
    ["and", <comparison>, <comparison>, ...]        all of them

``<op>`` is one of ``== = != < <= > >=``. ``<name>`` (the ``$`` is optional) is a host
field (``vcpus``, ``memory_mb``, ``hypervisor_hostname``…) or an extra capability set
at enrollment; both fields accept both kinds of names.

Comparison rules (they differ from Blazar's, which compares strings):

* when the requested value reads as a number, the comparison is numeric
  (``["<", "$gpus", "10"]`` matches ``"9"``); a capability whose value is not a number
  then only matches ``!=``;
* otherwise values compare as text, exactly (case-sensitive, by code point) on every
  database;
* a host lacking a capability never matches a comparison on it;
* a name that is neither a host field nor a capability any host was ever enrolled with
  is a 400 error, not a silent "no host matches": it is almost always a typo.
"""

import dataclasses
import json
import math
import re

from climate import exceptions
from climate.common import limits

OPERATORS = ('==', '!=', '<', '<=', '>', '>=')
ALIASES = {'=': '=='}

#: Host columns a requirement may name, and whether they compare as numbers.
NUMERIC_FIELDS = frozenset({'id', 'vcpus', 'memory_mb', 'local_gb', 'hypervisor_version'})
TEXT_FIELDS = frozenset({'hypervisor_id', 'hypervisor_hostname', 'service_name',
                         'cpu_info', 'hypervisor_type', 'availability_zone', 'status'})
HOST_FIELDS = NUMERIC_FIELDS | TEXT_FIELDS

MAX_NAME_LENGTH = 64
#: A requirement text longer than this, or nesting lists deeper, is refused (400)
#: before it is decoded: real queries are a few hundred characters, 3 levels deep.
MAX_TEXT_LENGTH = 4096
MAX_DEPTH = 8
_NUMBER = re.compile(r'^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$',
                     re.ASCII)


@dataclasses.dataclass(frozen=True)
class Requirement:
    """One comparison ``<name> <op> <value>``; ``value`` is always text."""

    op: str
    name: str
    value: str

    @property
    def number(self):
        return as_number(self.value)

    @property
    def is_host_field(self):
        return self.name in HOST_FIELDS


def as_number(value):
    """``value`` as a float if it is written as a finite decimal number, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and _NUMBER.match(value):
        number = float(value)
    else:
        return None
    return number if math.isfinite(number) else None


def parse(field, value):
    """The requirements in ``value`` (the request's ``field``) as a tuple.

    :raises MalformedRequirements: (400) naming the field and what is wrong.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        if not value.strip():
            return ()
        if len(value) > MAX_TEXT_LENGTH:
            raise _malformed(field, value,
                             f'it is longer than {MAX_TEXT_LENGTH} characters')
        if limits.json_depth_exceeds(value, MAX_DEPTH):
            raise _malformed(field, value,
                             f'it nests more than {MAX_DEPTH} levels deep')
        try:
            value = json.loads(value)
        except ValueError:
            raise _malformed(field, value, 'it is not valid JSON') from None
    elif isinstance(value, (list, dict)) and _list_depth_exceeds(value, MAX_DEPTH):
        raise _malformed(field, value, f'it nests more than {MAX_DEPTH} levels deep')
    if not isinstance(value, list):
        raise _malformed(field, value, 'it must be a JSON list')
    found = []
    _collect(field, value, found)
    return tuple(found)


def _collect(field, expression, found):
    if not expression:
        return
    head = expression[0]
    if head == 'and':
        for item in expression[1:]:
            if not isinstance(item, list):
                raise _malformed(field, expression,
                                 f'"and" takes lists, not {limits.quote(item)}')
            _collect(field, item, found)
        return
    if isinstance(head, list):  # a bare list of comparisons: an implicit "and"
        _collect(field, ['and'] + expression, found)
        return
    found.append(_comparison(field, expression))


def _comparison(field, expression):
    if len(expression) != 3:
        raise _malformed(field, expression,
                         'a comparison is ["<op>", "$<name>", "<value>"]')
    op, name, value = expression
    if not isinstance(op, str):
        raise _malformed(field, expression, 'the operator must be a string')
    op = ALIASES.get(op, op)
    if op not in OPERATORS:
        raise _malformed(field, expression,
                         f'unknown operator {json.dumps(op)} (use one of '
                         f'{", ".join(OPERATORS)} or "and")')
    if not isinstance(name, str) or not name.lstrip('$'):
        raise _malformed(field, expression, 'the name must be a string like "$vcpus"')
    name = name[1:] if name.startswith('$') else name
    if len(name) > MAX_NAME_LENGTH:
        raise _malformed(field, expression, 'the name is too long')
    if isinstance(value, bool):
        value = str(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise _malformed(field, expression, 'the value must be finite')
        value = str(value)
    elif not isinstance(value, str):
        raise _malformed(field, expression,
                         'the value must be a string or a number')
    if name in NUMERIC_FIELDS and as_number(value) is None:
        raise _malformed(field, expression,
                         f'{name} is a number and {limits.quote(value)} is not')
    return Requirement(op, name, value)


def _list_depth_exceeds(value, limit):
    """Whether the already-decoded ``value`` nests lists deeper than ``limit``
    (iteratively: the value itself may be nested thousands of levels)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children
                       if isinstance(child, (list, dict)))
    return False


def _malformed(field, value, reason):
    text = limits.quote(value)
    return exceptions.MalformedRequirements(
        f'Malformed requirements in {field}: {text}: {reason}')


def names(*requirement_lists):
    """Every name the requirement lists mention."""
    return {r.name for requirements in requirement_lists for r in requirements}


def capability_names(*requirement_lists):
    """The names that are not host fields (extra capabilities)."""
    return {name for name in names(*requirement_lists) if name not in HOST_FIELDS}
