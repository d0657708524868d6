"""``ClimateFilter``: keeps ordinary instances off reserved hosts, honours reservations.

Loaded by nova-scheduler (``[filter_scheduler] available_filters =
climate.scheduler.filter.ClimateFilter``, ``enabled_filters = ...,ClimateFilter``).
It decides from the Nova aggregates Climate's physical:host plugin manages:

* the freepool (``[climate] aggregate_freepool_name``) holds enrolled, unreserved hosts;
* each host reservation has an aggregate named after the reservation id, with the
  availability zone ``<az_prefix><reservation id>`` and the metadata
  ``<owner_key>=<project id>``.

Per host:

1. request with the scheduler hint ``reservation=<id>`` (one id or a list): pass only
   if the host is in the reservation aggregate of a requested id and the request's
   project owns that aggregate (``<owner_key>`` equals the project id, or a metadata
   key equal to the project id is true);
2. no hint, flavor extra spec ``aggregate_instance_extra_specs:reservation=<id>`` (the
   private flavor of a capacity reservation): pass only if the host is in the
   aggregate named ``<id>`` whose metadata ``reservation`` is ``<id>`` and which the
   request's project owns, and which holds fewer servers of that flavor than the
   aggregate's ``climate:slots:<host>`` allows (Climate's capacity reservations keep
   these hosts in the freepool too, so rule 3 keeps ordinary boots off them). The
   count reads the flavor of each server Nova lists on the host (Nova lazy-loads
   it); servers still being scheduled at the same moment are not counted yet, so
   two boots racing for the last slot may both pass here. What bounds the boots to
   the reservation's ``amount`` is Placement: the flavor asks for one unit of the
   reservation's class ``CUSTOM_RESERVATION_<ID>``, of which Climate puts as many on
   each host as it holds slots there, and Nova's claim of the unit is atomic;
3. no hint: pass unless the host is in the freepool or in a reservation aggregate.

This module needs Nova and registers its options into Nova's CONF; it must not import
``climate.conf`` (Climate's options would collide with Nova's in the same CONF).
"""

import nova.conf
from nova.scheduler import filters
from oslo_log import log as logging
from oslo_utils import strutils

from climate.scheduler import opts

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF
opts.register_opts(CONF)

RESERVATION_HINT = 'reservation'
INSTANCE_RESERVATION_SPEC = 'aggregate_instance_extra_specs:reservation'
SLOTS_PREFIX = 'climate:slots:'


class ClimateFilter(filters.BaseHostFilter):
    """Pass hosts according to Climate's reservation aggregates (see module doc)."""

    # Aggregates do not change between the instances of one request.
    run_filter_once_per_request = True

    def host_passes(self, host_state, spec_obj):
        names = _ClimateNames(CONF.climate)
        reservations = _requested_reservations(spec_obj)
        if reservations:
            return _reserved_host_passes(host_state, spec_obj, reservations, names)
        flavor_reservation = _flavor_reservation(spec_obj)
        if flavor_reservation is not None:
            return _capacity_host_passes(host_state, spec_obj, flavor_reservation,
                                         names)
        return _unreserved_host_passes(host_state, names)


class _ClimateNames:
    """The aggregate names, AZ prefixes and owner keys Climate (and Blazar) use."""

    def __init__(self, group):
        self.freepool = group.aggregate_freepool_name
        self.az_prefixes = [group.az_prefix]
        self.owner_keys = [group.owner_key]
        if group.blazar_compatible:
            self.az_prefixes.append(opts.BLAZAR_AZ_PREFIX)
            self.owner_keys.append(opts.BLAZAR_OWNER_KEY)

    def is_reservation_aggregate(self, aggregate):
        zone = aggregate.metadata.get('availability_zone') or ''
        return any(zone.startswith(prefix) for prefix in self.az_prefixes if prefix)

    def is_owner(self, aggregate, project_id):
        if not project_id:
            return False
        metadata = aggregate.metadata
        if any(metadata.get(key) == project_id for key in self.owner_keys):
            return True
        return strutils.bool_from_string(metadata.get(project_id))


def _requested_reservations(spec_obj):
    hint = spec_obj.get_scheduler_hint(RESERVATION_HINT)
    if hint is None:
        return []
    return [str(value) for value in (hint if isinstance(hint, list) else [hint])]


def _flavor_reservation(spec_obj):
    flavor = spec_obj.flavor if spec_obj.obj_attr_is_set('flavor') else None
    if flavor is None or not flavor.obj_attr_is_set('extra_specs'):
        return None
    return (flavor.extra_specs or {}).get(INSTANCE_RESERVATION_SPEC)


def _reserved_host_passes(host_state, spec_obj, reservations, names):
    project_id = spec_obj.project_id if spec_obj.obj_attr_is_set('project_id') else None
    requested = [agg for agg in host_state.aggregates
                 if agg.name in reservations and names.is_reservation_aggregate(agg)]
    if not requested:
        LOG.debug('%(host)s fails: not in the aggregate of requested reservation(s) '
                  '%(ids)s', {'host': host_state, 'ids': ', '.join(reservations)})
        return False
    owned = [agg.name for agg in requested if names.is_owner(agg, project_id)]
    if owned:
        LOG.debug('%(host)s passes: in reservation %(id)s of project %(project)s',
                  {'host': host_state, 'id': owned[0], 'project': project_id})
        return True
    LOG.debug('%(host)s fails: reservation(s) %(ids)s not owned by project '
              '%(project)s', {'host': host_state,
                              'ids': ', '.join(agg.name for agg in requested),
                              'project': project_id})
    return False


def _capacity_host_passes(host_state, spec_obj, reservation, names):
    project_id = spec_obj.project_id if spec_obj.obj_attr_is_set('project_id') else None
    held = [agg for agg in host_state.aggregates
            if agg.name == reservation and
            agg.metadata.get(RESERVATION_HINT) == reservation]
    if not held:
        LOG.debug('%(host)s fails: not in the aggregate of instance reservation '
                  '%(id)s', {'host': host_state, 'id': reservation})
        return False
    if not any(names.is_owner(agg, project_id) for agg in held):
        LOG.debug('%(host)s fails: instance reservation %(id)s not owned by project '
                  '%(project)s', {'host': host_state, 'id': reservation,
                                  'project': project_id})
        return False
    slots = max(_slots(agg, host_state.host) for agg in held)
    used = _servers_of_flavor(host_state, reservation)
    if used >= slots:
        LOG.debug('%(host)s fails: instance reservation %(id)s has %(used)d of its '
                  '%(slots)d slot(s) there in use', {'host': host_state,
                                                     'id': reservation, 'used': used,
                                                     'slots': slots})
        return False
    LOG.debug('%(host)s passes: in instance reservation %(id)s of project '
              '%(project)s', {'host': host_state, 'id': reservation,
                              'project': project_id})
    return True


def _slots(aggregate, host):
    try:
        return int(aggregate.metadata.get(SLOTS_PREFIX + str(host), 0))
    except (TypeError, ValueError):
        return 0


def _servers_of_flavor(host_state, flavor_id):
    count = 0
    for instance in (getattr(host_state, 'instances', None) or {}).values():
        try:
            if instance.flavor.flavorid == flavor_id:
                count += 1
        except Exception:  # deleted meanwhile, or not loadable: not holding a slot
            LOG.debug('Could not read the flavor of instance %s', instance.uuid)
    return count


def _unreserved_host_passes(host_state, names):
    held = [agg.name for agg in host_state.aggregates
            if agg.name == names.freepool or names.is_reservation_aggregate(agg)]
    if held:
        LOG.debug('%(host)s fails: in Climate aggregate(s) %(aggs)s and the request '
                  'has no "%(hint)s" scheduler hint',
                  {'host': host_state, 'aggs': ', '.join(sorted(held)),
                   'hint': RESERVATION_HINT})
        return False
    LOG.debug('%(host)s passes: not managed by Climate', {'host': host_state})
    return True
