"""ClimateFilter inside the real nova-scheduler machinery (nova from PyPI).

Each test parses a nova.conf, builds Nova's own ``HostManager`` (which loads the
filter from ``available_filters``/``enabled_filters`` exactly as nova-scheduler
does), feeds it real ``Aggregate`` objects the way nova-api pushes aggregate changes
(``update_aggregates``), and filters real ``HostState`` objects for real
``RequestSpec`` objects built like nova-conductor builds them.
"""

import logging
import pathlib
import re
import sys
import textwrap
from unittest import mock

from nova import context
from nova import objects
import nova.conf
from nova.scheduler import host_manager
from oslo_utils.fixture import uuidsentinel as uuids
import pytest

objects.register_all()
CONF = nova.conf.CONF
README = pathlib.Path(__file__).resolve().parents[2] / 'README.md'

ALICE = 'a1a1a1a1a1a14a1aa1a1a1a1a1a1a1a1'      # project ids as Keystone makes them
BOB = 'b0b0b0b0b0b04b0bb0b0b0b0b0b0b0b0'
R_ALICE = '5f0c9a59-2a0e-4b8e-9d43-9a0d5f0c1a01'  # reservation ids
R_ALICE_2 = '5f0c9a59-2a0e-4b8e-9d43-9a0d5f0c1a02'
R_BOB = '6e1d8b4a-3b1f-4c9f-8e54-8b1e6e1d2b03'
R_INSTANCES = '7a2e7c3b-4c20-4da0-9f65-7c2f7a2e3c04'

FILTERS_ONLY_CLIMATE = """
[filter_scheduler]
available_filters = nova.scheduler.filters.all_filters
available_filters = climate.scheduler.filter.ClimateFilter
enabled_filters = ClimateFilter
track_instance_changes = False
"""


def aggregate(agg_id, name, hosts, **metadata):
    return objects.Aggregate(id=agg_id, uuid=getattr(uuids, f'agg{agg_id}'), name=name,
                             hosts=hosts, metadata=metadata)


def host_reservation(agg_id, reservation_id, project_id, hosts, prefix='climate_',
                     owner_key='climate:owner'):
    """The aggregate Climate's physical:host plugin makes for a started reservation."""
    return aggregate(agg_id, reservation_id, hosts,
                     availability_zone=prefix + reservation_id,
                     **{owner_key: project_id})


# A small cloud: one host outside Climate, one in an ordinary operator aggregate with
# its own availability zone, one free enrolled host, and three reserved hosts.
CLOUD = [
    aggregate(1, 'ssd', ['rack-host'], availability_zone='az1', ssd='true'),
    aggregate(2, 'freepool', ['free-host']),
    host_reservation(3, R_ALICE, ALICE, ['alice-host']),
    host_reservation(4, R_ALICE_2, ALICE, ['alice-host-2']),
    host_reservation(5, R_BOB, BOB, ['bob-host']),
]
HOSTS = ['plain-host', 'rack-host', 'free-host', 'alice-host', 'alice-host-2', 'bob-host']


@pytest.fixture
def scheduler(tmp_path):
    """Returns ``start(nova_conf_text)`` → Nova's HostManager configured by that text."""
    def start(conf_text=FILTERS_ONLY_CLIMATE):
        path = tmp_path / 'nova.conf'
        path.write_text(conf_text)
        CONF(['--config-file', str(path)], project='nova',
             default_config_files=[], default_config_dirs=[])
        # Only the database reads of start-up are skipped: the cells cache and the
        # initial aggregate list; aggregates then arrive through update_aggregates.
        with mock.patch.object(host_manager.HostManager, 'refresh_cells_caches'), \
                mock.patch.object(host_manager.HostManager, '_init_aggregates'):
            return host_manager.HostManager()
    yield start
    CONF.reset()
    CONF.clear()


def request(project_id, hints=None, extra_specs=None):
    """A RequestSpec as nova-conductor builds it for ``openstack server create``."""
    flavor = objects.Flavor(id=1, flavorid='m1.small', name='m1.small', vcpus=1,
                            memory_mb=512, root_gb=1, ephemeral_gb=0, swap=0,
                            extra_specs=extra_specs or {})
    ctxt = context.RequestContext(user_id='user', project_id=project_id, is_admin=False)
    return objects.RequestSpec.from_components(
        ctxt, uuids.instance, {}, flavor, None, None,
        {'scheduler_hints': hints or {}}, None, None, project_id=project_id)


def passing_hosts(manager, spec, aggregates=CLOUD, hosts=HOSTS):
    manager.update_aggregates(aggregates)
    states = []
    for name in hosts:
        state = host_manager.HostState(name, name, uuids.cell)
        state.update(aggregates=manager._get_aggregates_info(name))
        states.append(state)
    return sorted(state.host for state in manager.get_filtered_hosts(states, spec))


def test_nova_scheduler_loads_the_filter_from_nova_conf(scheduler):
    manager = scheduler()
    assert [type(f).__name__ for f in manager.enabled_filters] == ['ClimateFilter']
    assert manager.enabled_filters[0].run_filter_once_per_request


def test_the_readme_nova_conf_enables_the_filter(scheduler):
    blocks = re.findall(r'```ini\n(.*?)```', README.read_text(), re.S)
    documented = [block for block in blocks if 'ClimateFilter' in block]
    assert documented, 'README has no ```ini block enabling ClimateFilter'
    manager = scheduler(textwrap.dedent(documented[0]))
    names = [type(f).__name__ for f in manager.enabled_filters]
    assert 'ClimateFilter' in names and 'ComputeFilter' in names
    # The README's block sets the [climate] options to their defaults, explicitly.
    assert CONF.climate.aggregate_freepool_name == 'freepool'


def test_reservation_hint_of_the_owner_lands_only_on_the_reserved_host(scheduler):
    spec = request(ALICE, hints={'reservation': R_ALICE})
    assert passing_hosts(scheduler(), spec) == ['alice-host']


def test_reservation_hint_of_another_project_gets_no_host(scheduler):
    spec = request(BOB, hints={'reservation': R_ALICE})
    assert passing_hosts(scheduler(), spec) == []


def test_reservation_hint_naming_no_reservation_gets_no_host(scheduler):
    spec = request(ALICE, hints={'reservation': 'no-such-reservation'})
    assert passing_hosts(scheduler(), spec) == []


def test_list_hint_lands_on_the_hosts_of_every_owned_reservation(scheduler):
    spec = request(ALICE, hints={'reservation': [R_ALICE, R_ALICE_2, R_BOB]})
    assert passing_hosts(scheduler(), spec) == ['alice-host', 'alice-host-2']


def test_request_without_hint_never_lands_on_freepool_or_reserved_hosts(scheduler):
    for project in (ALICE, BOB):
        assert passing_hosts(scheduler(), request(project)) == ['plain-host', 'rack-host']


def test_hint_cannot_reach_a_host_through_a_non_climate_aggregate(scheduler):
    # An operator's aggregate with tenant-style metadata is no reservation.
    tenant_aggregate = aggregate(6, 'alice-gpus', ['gpu-host'], **{ALICE: 'true'})
    spec = request(ALICE, hints={'reservation': 'alice-gpus'})
    assert passing_hosts(scheduler(), spec, CLOUD + [tenant_aggregate],
                         HOSTS + ['gpu-host']) == []


def test_project_id_key_set_to_true_grants_the_reservation(scheduler):
    granted = aggregate(6, 'r-shared', ['shared-host'], availability_zone='climate_r-shared',
                        **{'climate:owner': ALICE, BOB: 'True'})
    refused = aggregate(7, 'r-closed', ['closed-host'], availability_zone='climate_r-closed',
                        **{'climate:owner': ALICE, BOB: 'false'})
    spec = request(BOB, hints={'reservation': ['r-shared', 'r-closed']})
    assert passing_hosts(scheduler(), spec, [granted, refused],
                         ['shared-host', 'closed-host']) == ['shared-host']


def capacity_reservation(agg_id, reservation_id, project_id, hosts, slots=2):
    """The aggregate Climate makes for a started capacity reservation (its hosts
    stay in the freepool too), with ``slots`` instances on each host."""
    return aggregate(agg_id, reservation_id, hosts, reservation=reservation_id,
                     filter_tenant_id=project_id, **{'climate:owner': project_id},
                     **{f'climate:slots:{h}': str(slots) for h in hosts})


def test_capacity_flavor_fails_on_a_host_whose_slots_are_used(scheduler):
    manager = scheduler()
    cloud = [capacity_reservation(6, R_INSTANCES, ALICE, ['h1', 'h2'], slots=1)]
    manager.update_aggregates(cloud)
    spec = request(ALICE, extra_specs={
        'aggregate_instance_extra_specs:reservation': R_INSTANCES})
    states = []
    for name in ('h1', 'h2'):
        state = host_manager.HostState(name, name, uuids.cell)
        state.update(aggregates=manager._get_aggregates_info(name))
        states.append(state)
    # h1 runs one server of the reservation's flavor (and one of another flavor).
    states[0].instances = {
        uuids.used: objects.Instance(uuid=uuids.used, flavor=objects.Flavor(
            flavorid=R_INSTANCES)),
        uuids.other: objects.Instance(uuid=uuids.other, flavor=objects.Flavor(
            flavorid='m1.small'))}
    assert [s.host for s in manager.get_filtered_hosts(states, spec)] == ['h2']
    states[1].instances = {uuids.used2: objects.Instance(
        uuid=uuids.used2, flavor=objects.Flavor(flavorid=R_INSTANCES))}
    assert list(manager.get_filtered_hosts(states, spec)) == []


def test_capacity_flavor_lands_only_on_its_reservation_hosts(scheduler):
    cloud = CLOUD[:1] + [aggregate(2, 'freepool', ['free-host', 'sliced-host'])] + \
        CLOUD[2:] + [capacity_reservation(6, R_INSTANCES, ALICE, ['sliced-host'])]
    hosts = HOSTS + ['sliced-host']
    spec = request(ALICE, extra_specs={
        'aggregate_instance_extra_specs:reservation': R_INSTANCES})
    assert passing_hosts(scheduler(), spec, cloud, hosts) == ['sliced-host']


def test_capacity_flavor_of_another_project_gets_no_host(scheduler):
    cloud = CLOUD + [capacity_reservation(6, R_INSTANCES, ALICE, ['free-host'])]
    spec = request(BOB, extra_specs={
        'aggregate_instance_extra_specs:reservation': R_INSTANCES})
    assert passing_hosts(scheduler(), spec, cloud) == []


def test_ordinary_boots_never_land_on_hosts_holding_slices(scheduler):
    cloud = CLOUD[:1] + [aggregate(2, 'freepool', ['free-host', 'sliced-host'])] + \
        CLOUD[2:] + [capacity_reservation(6, R_INSTANCES, ALICE, ['sliced-host'])]
    for project in (ALICE, BOB):
        assert passing_hosts(scheduler(), request(project), cloud,
                             HOSTS + ['sliced-host']) == ['plain-host', 'rack-host']


def test_capacity_mode_flavor_lands_on_its_aggregate_with_nova_filters(scheduler):
    # Capacity-mode hosts stay in the freepool and join an aggregate without an
    # availability zone; Nova's AggregateInstanceExtraSpecsFilter enforces it.
    instances = capacity_reservation(6, R_INSTANCES, ALICE, ['free-host'])
    manager = scheduler(FILTERS_ONLY_CLIMATE.replace(
        'enabled_filters = ClimateFilter',
        'enabled_filters = AggregateInstanceExtraSpecsFilter,ClimateFilter'))
    capacity = request(ALICE, extra_specs={
        'aggregate_instance_extra_specs:reservation': R_INSTANCES})
    assert passing_hosts(manager, capacity, CLOUD + [instances]) == ['free-host']
    assert passing_hosts(manager, request(ALICE), CLOUD + [instances]) == [
        'plain-host', 'rack-host']


def test_configured_names_are_honoured(scheduler):
    manager = scheduler(FILTERS_ONLY_CLIMATE + """
[climate]
aggregate_freepool_name = spare
az_prefix = lease-
owner_key = lease:project
""")
    cloud = [aggregate(1, 'spare', ['spare-host']),
             host_reservation(2, R_ALICE, ALICE, ['alice-host'], prefix='lease-',
                              owner_key='lease:project'),
             aggregate(3, 'freepool', ['old-free-host'])]   # no longer Climate's
    hosts = ['spare-host', 'alice-host', 'old-free-host']
    assert passing_hosts(manager, request(ALICE), cloud, hosts) == ['old-free-host']
    hinted = request(ALICE, hints={'reservation': R_ALICE})
    assert passing_hosts(manager, hinted, cloud, hosts) == ['alice-host']


BLAZAR_CLOUD = [
    aggregate(1, 'freepool', ['free-host']),
    host_reservation(2, R_ALICE, ALICE, ['alice-host'], prefix='blazar_',
                     owner_key='blazar:owner'),
]


def test_blazar_aggregates_are_not_climate_s_by_default(scheduler):
    manager = scheduler()
    hosts = ['free-host', 'alice-host']
    assert passing_hosts(manager, request(BOB), BLAZAR_CLOUD, hosts) == ['alice-host']
    hinted = request(ALICE, hints={'reservation': R_ALICE})
    assert passing_hosts(manager, hinted, BLAZAR_CLOUD, hosts) == []


def test_blazar_compatible_honours_blazar_reservations(scheduler):
    manager = scheduler(FILTERS_ONLY_CLIMATE + '\n[climate]\nblazar_compatible = true\n')
    hosts = ['free-host', 'alice-host']
    assert passing_hosts(manager, request(BOB), BLAZAR_CLOUD, hosts) == []
    hinted = request(ALICE, hints={'reservation': R_ALICE})
    assert passing_hosts(manager, hinted, BLAZAR_CLOUD, hosts) == ['alice-host']
    stolen = request(BOB, hints={'reservation': R_ALICE})
    assert passing_hosts(manager, stolen, BLAZAR_CLOUD, hosts) == []


def test_each_decision_is_logged_at_debug(scheduler, caplog):
    caplog.set_level(logging.DEBUG, logger='climate.scheduler.filter')
    manager = scheduler()

    def messages():
        lines = [r.getMessage() for r in caplog.records
                 if r.name == 'climate.scheduler.filter' and r.levelno == logging.DEBUG]
        caplog.clear()
        return lines

    passing_hosts(manager, request(ALICE), hosts=['plain-host', 'free-host'])
    lines = messages()
    assert any('plain-host' in line and 'passes' in line for line in lines), lines
    assert any('free-host' in line and 'fails' in line and 'freepool' in line
               for line in lines), lines

    passing_hosts(manager, request(BOB, hints={'reservation': R_ALICE}),
                  hosts=['alice-host', 'plain-host'])
    lines = messages()
    assert any('alice-host' in line and 'not owned by project ' + BOB in line
               for line in lines), lines
    assert any('plain-host' in line and 'not in the aggregate' in line and R_ALICE in line
               for line in lines), lines

    passing_hosts(manager, request(ALICE, hints={'reservation': R_ALICE}),
                  hosts=['alice-host'])
    assert any('alice-host' in line and 'passes' in line and R_ALICE in line
               for line in messages())

    passing_hosts(manager, request(ALICE, extra_specs={
        'aggregate_instance_extra_specs:reservation': R_INSTANCES}), hosts=['free-host'])
    assert any('free-host' in line and 'instance reservation ' + R_INSTANCES in line
               for line in messages())


def test_the_filter_loads_no_other_climate_module():
    # Not climate.conf, whose options would collide with Nova's; and nothing needing
    # Climate's own dependencies (the README says pip install --no-deps is enough).
    import climate.scheduler.filter  # noqa: F401  (loaded by the tests above too)
    loaded = sorted(name for name in sys.modules if name.split('.')[0] == 'climate')
    assert loaded == ['climate', 'climate.scheduler', 'climate.scheduler.filter',
                      'climate.scheduler.opts']
