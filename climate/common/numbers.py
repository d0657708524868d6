"""Whole numbers in requests: one parser, so every parameter follows the same rules.

An integer may come as a JSON number (``2``, or ``2.0``: integral floats are what
some clients send), or as a string holding ASCII digits with an optional sign and
surrounding blanks (``"2"``, ``" +2 "``: Blazar's clients send strings). Booleans,
``null``, other digits (``"١"`` is an Arabic-Indic one, which ``int()`` would take)
and strings of more than 18 digits are refused; so is a value outside
``[minimum, maximum]``. Messages quote at most a bounded part of the input.
"""

import re

from climate import exceptions
from climate.common import limits

_INTEGER = re.compile(r'^\s*[+-]?[0-9]{1,18}\s*$', re.ASCII)


def parse_integer(name, value, minimum, maximum):
    """``value`` as an int in ``[minimum, maximum]``; 400 naming ``name`` otherwise."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and _INTEGER.match(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise exceptions.MalformedParameter(
            f'Malformed parameter {name}: {limits.short_repr(value)} is not an '
            f'integer')
    if not minimum <= value <= maximum:
        raise exceptions.InvalidInput(
            f'Invalid value of {name}: {value} (it must be between {minimum} and '
            f'{maximum})')
    return value
