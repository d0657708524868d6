"""Bounds on hostile input shared by the API and the plugins: how deeply a JSON text
nests (measured before it is decoded, so that no decoder recurses into it) and how
much of an offending value an error message quotes."""

import json

#: Characters of an offending value an error message quotes at most.
QUOTE_LIMIT = 200


def quote(value, limit=QUOTE_LIMIT):
    """``value`` for an error message: as JSON when it is not a string, cut to
    ``limit`` characters with ``…`` (so a 100 KB value makes a short message)."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value)
        except (TypeError, ValueError, RecursionError):
            text = repr(type(value).__name__)
    if len(text) > limit:
        return text[:limit] + '…'
    return text


def json_depth_exceeds(text, limit):
    """True if the JSON ``text`` (str or bytes) opens more than ``limit`` arrays or
    objects inside each other. A linear scan that skips strings; it does not check the
    syntax (the decoder does that once the depth is known to be safe)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode('latin-1')  # brackets and quotes are ASCII
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == '\\':
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in '[{':
            depth += 1
            if depth > limit:
                return True
        elif char in ']}':
            depth -= 1
    return False


def short_repr(value, limit=QUOTE_LIMIT):
    """``repr(value)`` cut to ``limit`` characters with ``…``."""
    try:
        text = repr(value)
    except RecursionError:
        text = type(value).__name__
    if len(text) > limit:
        return text[:limit] + '…'
    return text
