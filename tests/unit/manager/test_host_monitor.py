"""Reading Nova's versioned ``service.update`` notifications (the notification
monitor), and the failure reasons of compute services (the polling monitor)."""

from climate.compute import base
from climate.manager import host_monitor


def payload(**fields):
    data = {'host': 'compute-1', 'binary': 'nova-compute', 'disabled': False,
            'disabled_reason': None, 'forced_down': False}
    data.update(fields)
    return {'nova_object.name': 'ServiceStatusPayload', 'nova_object.data': data}


def test_disabled_or_forced_down_service_is_a_failure():
    assert host_monitor.service_failure(payload(disabled=True,
                                                disabled_reason='maint')) == (
        'compute-1', 'service disabled (maint)')
    assert host_monitor.service_failure(payload(forced_down=True)) == (
        'compute-1', 'forced down')


def test_enabled_service_is_healthy_and_other_binaries_are_ignored():
    assert host_monitor.service_failure(payload()) == ('compute-1', None)
    assert host_monitor.service_failure(payload(binary='nova-scheduler',
                                                disabled=True)) == (None, None)
    assert host_monitor.service_failure('not a dict') == (None, None)


def test_compute_service_failure_reasons():
    assert base.ComputeService('h').failure is None
    assert base.ComputeService('h', state='down').failure == 'service down'
    assert base.ComputeService('h', status='disabled', disabled_reason='disk',
                               forced_down=True).failure == \
        'forced down, service disabled (disk)'


class _Plugin:
    """A plugin taking part in the monitor: records its calls; ``broken`` polls fail."""

    def __init__(self, broken=False):
        self.broken = broken
        self.calls = []

    def check_hosts(self, context):
        self.calls.append('check_hosts')
        if self.broken:
            raise RuntimeError('Nova unreachable')
        return [], []

    def apply_host_states(self, context, failures):
        self.calls.append('apply_host_states')
        return [], []

    def heal(self, context):
        self.calls.append('heal')
        return []


def test_services_are_read_once_for_every_plugin_and_all_of_them_heal():
    # Host states are shared (computehosts): physical:host and the capacity plugins
    # loaded together must not each poll Nova; each heals its own reservations.
    first, second = _Plugin(), _Plugin()
    monitor = host_monitor.HostMonitor({}, None, {'a': first, 'b': second})
    monitor.poll()
    monitor.service_changed('compute-1', None)
    monitor.heal()
    assert first.calls == ['check_hosts', 'apply_host_states', 'heal']
    assert second.calls == ['heal']


def test_the_next_plugin_polls_when_one_fails():
    broken, healthy = _Plugin(broken=True), _Plugin()
    monitor = host_monitor.HostMonitor({}, None, {'a': broken, 'b': healthy})
    monitor.poll()
    assert healthy.calls == ['check_hosts']
