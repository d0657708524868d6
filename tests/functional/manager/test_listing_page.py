"""The listing page the manager writes straight from its rows (``list_leases_page``)
is the JSON of the leases ``list_leases`` shows, on every database: same leases, same
order, same fields and values, whatever the rows hold (NULLs, set ``updated_at``,
flags, event errors, quotes and non-ASCII text, plugin fields)."""

import json

import pytest
import sqlalchemy as sa

from climate import exceptions
from climate import rpc
from climate.db import api as db_api
from climate.db import models
from tests.functional.manager.conftest import lease_body
from tests.functional.manager.conftest import soon

ODD_NAMES = ('plain', 'quote " and \\ backslash', 'Ärger café 🚀', 'tab\tnew\nline')


def _page(service, ctx, **filters):
    page = service.list_leases_page(ctx, **filters)
    return json.loads(page['leases']), page


def _make_leases(service, ctx):
    ids = [service.create_lease(ctx, lease_body(soon(3600 * (i + 1)), soon(90000),
                                                name=name))['id']
           for i, name in enumerate(ODD_NAMES)]
    # What a lease's life writes later: a reason, the flags, an event's error, update
    # times (with microseconds), a trust.
    with db_api.writer.using(ctx):
        session = ctx.session
        session.execute(sa.update(models.Lease).where(models.Lease.id == ids[1]).values(
            status_reason='failed: "nova" said ü', degraded=True, trust_id='t-1',
            updated_at=soon(5).replace(microsecond=123456)))
        session.execute(sa.update(models.Reservation).where(
            models.Reservation.lease_id == ids[1]).values(
            missing_resources=True, resources_changed=True, resource_id='r-1',
            updated_at=soon(5)))
        session.execute(sa.update(models.Event).where(
            models.Event.lease_id == ids[2]).values(
            error='Traceback: "boom"\n\u00e9', status='ERROR', updated_at=soon(7)))
    return ids


def test_the_page_text_is_the_json_of_the_listed_leases(service, ctx):
    ids = _make_leases(service, ctx)
    listed, page = _page(service, ctx, project_id='p1')
    assert listed == service.list_leases(ctx, project_id='p1')
    assert [lease['id'] for lease in listed] == ids
    assert page['count'] == len(ids) and page['last_id'] == ids[-1]
    odd = listed[1]
    assert (odd['name'], odd['status_reason'], odd['degraded'], odd['trust_id']) == (
        ODD_NAMES[1], 'failed: "nova" said ü', True, 't-1')
    assert odd['updated_at'] is not None and odd['reservations'][0]['dummy'] is True
    assert odd['reservations'][0]['missing_resources'] is True
    assert {e['error'] for e in listed[2]['events']} == {'Traceback: "boom"\n\u00e9'}
    # The same text as encoding the views with json.dumps, to the byte.
    assert page['leases'] == json.dumps(service.list_leases(ctx, project_id='p1'))


def test_the_page_follows_filters_sorts_and_markers(service, ctx):
    other = type(ctx)(user_id='u2', project_id='p2')
    ids = _make_leases(service, ctx)
    service.create_lease(other, lease_body(soon(3600), soon(7200), name='theirs'))
    for filters in ({'project_id': 'p1', 'sort_key': 'name', 'sort_dir': 'desc'},
                    {'project_id': 'p1', 'limit': 2, 'marker': ids[0]},
                    {'name': 'theirs'}, {'status': 'PENDING', 'sort_key': 'start_date'},
                    {'project_id': 'p1', 'limit': 0}, {}):
        listed, page = _page(service, ctx, **filters)
        assert listed == service.list_leases(ctx, **filters), filters
        assert page['count'] == len(listed)
        assert page['last_id'] == (listed[-1]['id'] if listed else None)
    theirs = _page(service, other, project_id='p2')[0][0]
    with pytest.raises(exceptions.InvalidInput, match='marker .* not found'):
        service.list_leases_page(ctx, project_id='p1', marker=theirs['id'])
    with pytest.raises(exceptions.InvalidInput):
        service.list_leases_page(ctx, sort_key='trust_id')


def test_a_compressed_page_unpacks_to_the_same_text(service, ctx):
    _make_leases(service, ctx)
    plain = service.list_leases_page(ctx, project_id='p1')
    packed = service.list_leases_page(ctx, compressed=True, project_id='p1')
    assert 'leases' not in packed
    data = rpc.unpack(packed.pop('leases_packed'))
    assert data == plain.pop('leases').encode('utf-8')
    assert packed.pop('size') == len(data)
    assert packed == plain
    # Unpacked piece by piece (as the API streams it), in bounded pieces.
    pieces = list(rpc.unpack_chunks(service.list_leases_page(
        ctx, compressed=True, project_id='p1')['leases_packed']))
    assert b''.join(pieces) == data
    assert max(len(piece) for piece in pieces) <= rpc.UNPACK_CHUNK


class _Overriding:
    """A plugin whose fields replace some of the reservation's own (as a plugin may
    show its own ``status``)."""

    def __init__(self, plugin):
        self._plugin = plugin

    def __getattr__(self, name):
        return getattr(self._plugin, name)

    def details(self, context, reservations):
        return {r.id: {'status': 'shown', 'extra': [1, 'x']} for r in reservations}


def test_plugin_fields_may_replace_the_reservations_own(service, ctx):
    _make_leases(service, ctx)
    service.plugins['dummy:resource'] = _Overriding(service.plugins['dummy:resource'])
    listed, page = _page(service, ctx, project_id='p1')
    assert listed == service.list_leases(ctx, project_id='p1')
    assert {r['status'] for lease in listed for r in lease['reservations']} == {'shown'}
    assert page['leases'] == json.dumps(service.list_leases(ctx, project_id='p1'))
