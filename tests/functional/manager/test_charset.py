"""Lease names outside Latin-1 on a MariaDB/MySQL database created as ``latin1``.

The migrations create every table in utf8mb4 with a binary NO PAD collation where the
server has one, so emoji and CJK names round-trip, and names and ids compare as on
SQLite and PostgreSQL (case and trailing spaces count).
"""

import json

import pytest
import sqlalchemy as sa

from climate import exceptions
from tests.functional.manager.conftest import lease_body


@pytest.fixture
def latin1_database(database):
    if database.backend != 'mysql':
        pytest.skip('a MySQL/MariaDB character set')
    with database.engine.begin() as connection:
        connection.execute(sa.text(f'ALTER DATABASE {database.name} CHARACTER SET latin1 '
                                   'COLLATE latin1_swedish_ci'))
    return database


NAMES = ('🚀 launch window', '実験室の予約', 'Ärger café', 'Лаборатория')


def test_non_latin1_names_round_trip_on_a_latin1_database(latin1_database, service,
                                                          ctx):
    for name in NAMES:
        lease = service.create_lease(ctx, lease_body('2099-01-01 10:00',
                                                     '2099-01-01 11:00', name=name))
        assert lease['name'] == name
        assert service.get_lease(ctx, lease['id'])['name'] == name
        assert [found['name'] for found in service.list_leases(ctx, name=name)] == [name]
    # The listing page (its rows partly joined into one text in SQL) keeps them too.
    page = service.list_leases_page(ctx, project_id=ctx.project_id)
    assert [found['name'] for found in json.loads(page['leases'])] == list(NAMES)


def test_names_and_ids_compare_exactly(latin1_database, service, ctx):
    lease = service.create_lease(ctx, lease_body('2099-01-01 10:00', '2099-01-01 11:00',
                                                 name='Lab'))
    assert service.list_leases(ctx, name='lab') == []
    assert service.list_leases(ctx, name='Lab ') == []
    with pytest.raises(exceptions.LeaseNotFound):
        service.get_lease(ctx, lease['id'] + ' ')
