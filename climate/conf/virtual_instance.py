"""Options of the ``virtual:instance`` plugin ([virtual:instance] section).

The plugin reserves an existing Nova server: shelved until its lease starts, unshelved
at the start, and at the end snapshotted and deleted (or another ``on_end`` action).
"""

from oslo_config import cfg

GROUP_NAME = 'virtual:instance'
ON_END_ACTIONS = ('snapshot_and_delete', 'delete', 'shelve', 'none')
#: What the end of a capacity reservation may do to the servers booted with its flavor.
CAPACITY_ON_END_ACTIONS = ('delete', 'snapshot_and_delete')

virtual_instance_group = cfg.OptGroup(
    GROUP_NAME, title='virtual:instance plugin options',
    help='Reservations of existing servers (shelved until the lease starts). Used when '
         'virtual.instance.plugin is in [manager] plugins.')

virtual_instance_opts = [
    cfg.StrOpt('on_end',
               default='snapshot_and_delete',
               choices=[('snapshot_and_delete', 'Snapshot the server, wait until the '
                                                'image is saved, then delete it.'),
                        ('delete', 'Delete the server.'),
                        ('shelve', 'Shelve the server (offloaded); its owner may '
                                   'unshelve it later.'),
                        ('none', 'Leave the server as it is.')],
               help='What happens to a reserved server when its lease ends, for '
                    'reservations that do not give on_end themselves.'),
    cfg.StrOpt('capacity_on_end',
               default='delete',
               choices=[('delete', 'Delete the servers booted with the reservation\'s '
                                   'flavor.'),
                        ('snapshot_and_delete', 'Snapshot each of them, wait until '
                                                'the images are saved, then delete '
                                                'them.')],
               help='What happens at the end of a capacity reservation '
                    '(virtual:instance without resource_id, and flavor:instance) to '
                    'the servers booted with its flavor, for reservations that do not '
                    'give on_end themselves.'),
    cfg.StrOpt('snapshot_prefix',
               default='climate-snapshot-',
               help='Prefix of the name of the snapshot images the plugin makes; the '
                    'server name follows it.'),
    cfg.IntOpt('shelve_lead_time',
               default=120,
               min=0,
               help='Seconds: a server whose lease starts later than this after the '
                    'reservation is made is shelved until the start; a lease starting '
                    'sooner leaves it running (shelving and unshelving take longer than '
                    'the wait would).'),
    cfg.FloatOpt('unshelve_timeout',
                 default=600.0,
                 min=0,
                 help='Seconds the lease start waits for an unshelved server to become '
                      'ACTIVE before giving up with a retryable timeout.'),
    cfg.FloatOpt('snapshot_timeout',
                 default=1800.0,
                 min=0,
                 help='Seconds a snapshot may take to be saved (image active) before '
                      'the event gives up with a retryable timeout. Shelving and '
                      'deleting wait [compute] wait_timeout.'),
]


def register_opts(conf):
    conf.register_group(virtual_instance_group)
    conf.register_opts(virtual_instance_opts, group=virtual_instance_group)


def list_opts():
    return {virtual_instance_group: virtual_instance_opts}
