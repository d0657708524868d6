"""Options of lease notifications ([notifications] section, as Blazar names it).

Where and how notifications are sent (driver, topics, transport) is oslo.messaging's
``[oslo_messaging_notifications]`` section.
"""

from oslo_config import cfg

notifications_group = cfg.OptGroup('notifications', title='Lease notification options')

notifications_opts = [
    cfg.StrOpt('publisher_id',
               default='climate.lease',
               help='Publisher id of the lease notifications (lease.create, '
                    'lease.update, lease.delete, lease.event.*). Set it to '
                    'blazar.lease for consumers written for Blazar that match on '
                    'the publisher.'),
]


def register_opts(conf):
    conf.register_group(notifications_group)
    conf.register_opts(notifications_opts, group=notifications_group)


def list_opts():
    return {notifications_group: notifications_opts}
