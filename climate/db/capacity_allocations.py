"""Capacity reservations' slices of hosts (``capacity_allocations``).

One row per reservation and host: how many of the reservation's instances the host
holds for ``[start_date, end_date)`` (the lease's window copied in), and their summed
vcpus, memory and disk. The writes run inside the lease's transaction after
:func:`climate.db.claims.claim` succeeded for every host they add to or grow on (see
:mod:`climate.db.capacity_search` for the invariant); removing or shrinking slices
bumps the hosts' generations (:func:`climate.db.claims.bump`).
"""

import datetime
import uuid

import sqlalchemy as sa

from climate import exceptions
from climate.common import timeutils
from climate.db import api as db_api
from climate.db import capacity_search
from climate.db import claims
from climate.db import models

H = models.ComputeHost.__table__
S = models.CapacityAllocation.__table__


# In the lease's transaction -----------------------------------------------------------

def insert(context, reservation_id, placement, size, start, end):
    """Write the slices ``{host_id: instances}`` (claimed already) of ``size`` each."""
    if not placement:
        return
    now = timeutils.utcnow()
    context.session.execute(sa.insert(S), [
        {'id': str(uuid.uuid4()), 'compute_host_id': host_id,
         'reservation_id': reservation_id, 'instances': count,
         'vcpus': size.vcpus * count, 'memory_mb': size.memory_mb * count,
         'disk_gb': size.disk_gb * count, 'start_date': start, 'end_date': end,
         'created_at': now} for host_id, count in sorted(placement.items())])


def remove(context, reservation_id):
    """Delete the reservation's slices (the caller bumps or claims the hosts)."""
    context.session.execute(sa.delete(S).where(S.c.reservation_id == reservation_id)
                            .execution_options(synchronize_session=False))


def replace(context, reservation_id, placement, size, start, end, claimed):
    """Make ``placement`` the reservation's slices; ``claimed`` are the hosts the
    caller claimed (every host of ``placement``); the others it held are bumped."""
    held = set(placement_of(context, reservation_id))
    remove(context, reservation_id)
    claims.bump(context, held - {h.host_id for h in claimed})
    insert(context, reservation_id, placement, size, start, end)


def rows_of(context, reservation_id):
    """The reservation's slices as plain dicts of every column (for :func:`put_back`)."""
    return [dict(row._mapping) for row in context.session.execute(
        sa.select(S).where(S.c.reservation_id == reservation_id))]


def put_back(context, reservation_id, rows, ratios, cleaning):
    """Make the reservation's slices ``rows`` again (what :func:`rows_of` returned),
    claiming their hosts: each must still have room for its old slice.

    :raises ClaimConflict: a concurrent transaction changed one of the hosts (retry).
    :raises NotEnoughHostsAvailable: the room was taken meanwhile.
    """
    claimed = []
    for row in rows:
        one = capacity_search.Size(row['vcpus'], row['memory_mb'], row['disk_gb'])
        found = capacity_search.find_room(
            context, row['start_date'], row['end_date'], one, ratios=ratios,
            cleaning=cleaning, exclude_reservation=reservation_id,
            host_ids=[row['compute_host_id']])
        if not found:
            raise exceptions.NotEnoughHostsAvailable(
                f'the room of reservation {reservation_id} on host '
                f'{row["compute_host_id"]} was taken meanwhile')
        claimed += found
    claims.claim(context, claimed,
                 max((row['end_date'] - row['start_date'] for row in rows),
                     default=datetime.timedelta(0)))
    held = set(placement_of(context, reservation_id))
    remove(context, reservation_id)
    claims.bump(context, held - {h.host_id for h in claimed})
    if rows:
        context.session.execute(sa.insert(S), [dict(row) for row in rows])


def move(context, reservation_id, start, end):
    """Give every slice of the reservation the window ``[start, end)``."""
    context.session.execute(
        sa.update(S).where(S.c.reservation_id == reservation_id)
        .values(start_date=start, end_date=end, updated_at=timeutils.utcnow())
        .execution_options(synchronize_session=False))


# Reads ------------------------------------------------------------------------------

@db_api.reader
def placement_of(context, reservation_id):
    """``{host_id: instances}`` of the reservation (a host may hold several of its
    slices after healing moved instances there: they add up)."""
    return {host_id: int(count) for host_id, count in context.session.execute(
        sa.select(S.c.compute_host_id, sa.func.sum(S.c.instances))
        .where(S.c.reservation_id == reservation_id)
        .group_by(S.c.compute_host_id)).all()}


@db_api.reader
def nodes_of(context, reservation_id):
    """``{hypervisor hostname: instances}`` of the reservation (the compute nodes,
    named as their resource providers in Placement)."""
    return {node: int(count) for node, count in context.session.execute(
        sa.select(H.c.hypervisor_hostname, sa.func.sum(S.c.instances))
        .join(H, H.c.id == S.c.compute_host_id)
        .where(S.c.reservation_id == reservation_id)
        .group_by(H.c.hypervisor_hostname)).all()}


@db_api.reader
def hosts_of(context, reservation_id):
    """``{host_id: service name}`` of the reservation's slices."""
    return dict(context.session.execute(
        sa.select(S.c.compute_host_id, H.c.service_name).distinct()
        .join(H, H.c.id == S.c.compute_host_id)
        .where(S.c.reservation_id == reservation_id)).all())


@db_api.reader
def all_slices(context):
    """Every slice as a dict (for checks of the invariant)."""
    return [dict(row._mapping) for row in context.session.execute(sa.select(S))]


@db_api.writer
def release(context, reservation_id):
    """Delete the reservation's slices (its end) and bump their hosts."""
    host_ids = set(placement_of(context, reservation_id))
    remove(context, reservation_id)
    claims.bump(context, host_ids)
    return host_ids
