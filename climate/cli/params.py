"""Parsing of ``key=value,key=value`` option values, option types and shared column
helpers."""

import argparse
import json
import re

from cliff import columns

from climate.client.exceptions import ClimateClientError

# A comma starts a new pair only when a ``key=`` follows it, so JSON values such as
# hypervisor_properties='[">=", "$vcpus", "2"]' keep their commas.
_PAIR_SPLIT = re.compile(r',(?=\s*[A-Za-z_][A-Za-z0-9_:.-]*=)')


def key_values(text, option):
    """``'a=1,b=x'`` → ``{'a': 1, 'b': 'x'}``; integer-looking values become ints."""
    result = {}
    for pair in _PAIR_SPLIT.split(text):
        key, sep, value = pair.partition('=')
        key = key.strip()
        if not sep or not key:
            raise ClimateClientError(
                f"Invalid {option} '{text}': expected key=value pairs")
        if key in result:
            raise ClimateClientError(f"Invalid {option} '{text}': '{key}' given twice")
        result[key] = int(value) if re.fullmatch(r'-?\d+', value.strip()) else value
    return result


class Structured(columns.FormattableColumn):
    """A list or dict value: indented JSON in tables, itself in JSON and YAML output."""

    def human_readable(self):
        return json.dumps(self._value, indent=2, sort_keys=True)

    def machine_readable(self):
        return self._value


def structured(value, parsed):
    """A nested value for a column: compact JSON text in ``value``/``csv`` output (for
    scripts), else :class:`Structured` (indented JSON in tables, data in JSON/YAML)."""
    if getattr(parsed, 'formatter', None) in ('value', 'csv'):
        return json.dumps(value, sort_keys=True)
    return Structured(value)


def show(item, parsed):
    """``(columns, values)`` for a ShowOne command, keys sorted, nested values
    through :func:`structured`."""
    keys = sorted(item)
    return keys, [structured(item[k], parsed) if isinstance(item[k], (list, dict))
                  else item[k] for k in keys]


def positive_int(text):
    """An argparse ``type``: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'{value} is less than 1')
    return value
