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
