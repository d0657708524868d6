"""Options of the in-memory compute driver ([compute_memory] section)."""

from oslo_config import cfg

compute_memory_group = cfg.OptGroup(
    'compute_memory', title='In-memory compute driver options',
    help='Used only when [compute] driver = memory.')

compute_memory_opts = [
    cfg.ListOpt('hypervisors',
                default=['compute-1', 'compute-2', 'compute-3'],
                help='Simulated hypervisors, one item each: a host name followed by '
                     'optional ":key=value" fields, e.g. '
                     '"compute-1:vcpus=16:memory_mb=65536:local_gb=500". Keys: '
                     'vcpus (default 8), memory_mb (16384), local_gb (200), '
                     'hypervisor_type (QEMU), hypervisor_version (8002000), '
                     'service_host (the host name), id (default: a UUID derived from '
                     'the host name, so it is stable across restarts). Every host '
                     'starts in no aggregate, in the "nova" availability zone.'),
    cfg.ListOpt('flavors',
                default=['1:m1.tiny:vcpus=1:ram=512:disk=1',
                         '2:m1.small:vcpus=1:ram=2048:disk=20',
                         '3:m1.medium:vcpus=2:ram=4096:disk=40'],
                help='Simulated public flavors (the operator\'s, for flavor:instance '
                     'reservations), one item each: "id:name:vcpus=N:ram=MB:disk=GB" '
                     '(all three sizes required). The defaults are Nova\'s classic '
                     'm1.tiny, m1.small and m1.medium.'),
    cfg.FloatOpt('action_delay',
                 default=0.0,
                 min=0,
                 help='Seconds a simulated server or image action (shelve, unshelve, '
                      'delete, snapshot, boot) stays in progress before it completes, '
                      'as with Nova where these calls return before the work is done.'),
]


def register_opts(conf):
    conf.register_group(compute_memory_group)
    conf.register_opts(compute_memory_opts, group=compute_memory_group)


def list_opts():
    return {compute_memory_group: compute_memory_opts}
