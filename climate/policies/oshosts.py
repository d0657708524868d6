"""Who may manage the hosts Climate reserves: admins, by default, for every call."""

from climate.policies import base

HOST = '/v1/os-hosts/{host_id}'

rules = [
    base.documented('oshosts', 'get', base.ADMIN, 'List hosts, or show one.',
                    [{'path': '/v1/os-hosts', 'method': 'GET'},
                     {'path': HOST, 'method': 'GET'}]),
    base.documented('oshosts', 'post', base.ADMIN, 'Enrol a host.',
                    [{'path': '/v1/os-hosts', 'method': 'POST'}]),
    base.documented('oshosts', 'put', base.ADMIN,
                    'Update the extra capabilities of a host.',
                    [{'path': HOST, 'method': 'PUT'}]),
    base.documented('oshosts', 'delete', base.ADMIN, 'Remove a host.',
                    [{'path': HOST, 'method': 'DELETE'}]),
    base.documented('oshosts', 'get_allocations', base.ADMIN,
                    'List the reservations each host is allocated to.',
                    [{'path': '/v1/os-hosts/allocations', 'method': 'GET'},
                     {'path': HOST + '/allocation', 'method': 'GET'}]),
    base.documented('oshosts', 'get_resource_properties', base.ADMIN,
                    'List the extra capabilities (properties) of hosts.',
                    [{'path': '/v1/os-hosts/properties', 'method': 'GET'}]),
    base.documented('oshosts', 'update_resource_properties', base.ADMIN,
                    'Make a host property private or public.',
                    [{'path': '/v1/os-hosts/properties/{property_name}',
                      'method': 'PATCH'}]),
    base.documented('oshosts', 'reallocate', base.ADMIN,
                    'Move the allocations of a host (of one lease or reservation, '
                    'or all) to other matching hosts.',
                    [{'path': HOST + '/allocation', 'method': 'PUT'}]),
    base.documented('oshosts', 'maintenance', base.ADMIN,
                    'List, create and end the maintenance windows of a host.',
                    [{'path': HOST + '/maintenances', 'method': 'GET'},
                     {'path': HOST + '/maintenances', 'method': 'POST'},
                     {'path': HOST + '/maintenances/{maintenance_id}',
                      'method': 'DELETE'}]),
]


def list_rules():
    return rules
