"""Times survive a round trip through every database as the same UTC instant."""

import datetime

import pytest

from climate.db import api as db_api
from climate.db import models

PLUS_TWO = datetime.timezone(datetime.timedelta(hours=2))


def _lease(**values):
    base = dict(name='l', project_id='p', status='PENDING',
                start_date=datetime.datetime(2030, 1, 2, 5, 0, 0, 123456, tzinfo=PLUS_TWO),
                end_date=datetime.datetime(2030, 1, 3, 0, 0, tzinfo=datetime.timezone.utc))
    base.update(values)
    return models.Lease(**base)


def test_aware_datetimes_round_trip_as_utc_with_microseconds(migrated_database):
    with db_api.writer.using(_Ctx()) as session:
        lease = _lease()
        session.add(lease)
        session.flush()
        lease_id = lease.id
    with db_api.reader.using(_Ctx()) as session:
        stored = session.get(models.Lease, lease_id)
        assert stored.start_date == datetime.datetime(2030, 1, 2, 3, 0, 0, 123456,
                                                      tzinfo=datetime.timezone.utc)
        assert stored.start_date.utcoffset() == datetime.timedelta(0)
        assert stored.created_at.tzinfo is not None


def test_naive_datetimes_are_refused(migrated_database):
    with pytest.raises(Exception) as err:
        with db_api.writer.using(_Ctx()) as session:
            session.add(_lease(start_date=datetime.datetime(2030, 1, 1)))
            session.flush()
    assert 'naive datetime' in str(err.value)


def test_lease_delete_cascades_to_reservations_and_events(migrated_database):
    with db_api.writer.using(_Ctx()) as session:
        lease = _lease()
        lease.reservations.append(models.Reservation(resource_type='physical:host',
                                                     status='pending'))
        lease.events.append(models.Event(event_type='start_lease', status='UNDONE',
                                         time=lease.start_date, due_at=lease.start_date))
        session.add(lease)
        session.flush()
        lease_id = lease.id
    with db_api.writer.using(_Ctx()) as session:
        session.delete(session.get(models.Lease, lease_id))
    with db_api.reader.using(_Ctx()) as session:
        assert session.query(models.Reservation).count() == 0
        assert session.query(models.Event).count() == 0


class _Ctx:
    """The smallest object enginefacade accepts as a transaction context."""
