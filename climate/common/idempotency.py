"""Idempotency keys: the ``Idempotency-Key`` header of ``POST /v1/leases`` checked,
and the fingerprint of a request that tells a retry from a different request.

Shared by the API (which refuses a bad key with 400 before calling the manager) and
the manager (which keeps the keys, :mod:`climate.db.idempotency`).
"""

import hashlib
import json
import re

from climate import exceptions

HEADER = 'Idempotency-Key'
MAX_LENGTH = 255
# Printable ASCII, space included (HTTP servers strip it at either end of a header).
_VALID = re.compile(r'^[\x20-\x7e]+$')


def check(key):
    """``key`` if it is 1 to 255 printable ASCII characters, else a 400."""
    if not isinstance(key, str) or not 0 < len(key) <= MAX_LENGTH \
            or not _VALID.match(key):
        raise exceptions.InvalidInput(
            message='Invalid Idempotency-Key header: it must be 1 to '
                    f'{MAX_LENGTH} printable ASCII characters')
    return key


def fingerprint(values):
    """The sha256 (hex) of the canonical JSON of a request's values."""
    text = json.dumps(values, sort_keys=True, separators=(',', ':'),
                      ensure_ascii=False)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()
