"""Microversion negotiation: 1.0 is the only version."""

import pytest

from climate.api import middleware


@pytest.mark.parametrize('header,expected', [
    (None, (None, '1.0')),
    ('reservation 1.0', (None, '1.0')),
    ('reservation latest', (None, '1.0')),
    ('compute 2.1', (None, '1.0')),
    ('compute 2.1, reservation 1.0', (None, '1.0')),
    ('reservation 1.1', 406),
    ('reservation 2.0', 406),
    ('reservation 1.01', 400),
    ('reservation 01.0', 400),
    ('reservation 0.1', 400),
    ('reservation 1', 400),
    ('reservation one', 400),
])
def test_negotiate(header, expected):
    headers = {} if header is None else {'OpenStack-API-Version': header}
    status, text = middleware.negotiate(headers)
    if isinstance(expected, tuple):
        assert (status, text) == expected
    else:
        assert status == expected and text
