"""``SizedFakeDriver``: Nova's fake hypervisor with a realistic capacity of its own.

Runs inside nova-compute (the openstack-lite venv). It is Nova's
``FakeDriverWithoutFakeNodes`` (stable node identity in ``state_path``, so computes
survive restarts) reporting the vCPUs, memory and disk set in ``[climate_fake_virt]``
of each ``compute-<host>.conf``, instead of the fake driver's 1000 vCPUs / 800 GB.
Its snapshots upload a few bytes to Glance, as a real driver uploads the disk, so a
snapshot image becomes ``active`` (the fake driver's stay ``queued`` for ever, and
Climate's snapshot-then-delete waits for ``active``).

Nova 34 loads ``compute_driver`` only from inside ``nova.virt`` (it imports
``nova.virt.<value>``), so ``config_files.install_driver_shim`` puts a one-line module
``nova/virt/climate_osl_fake_virt.py`` into the venv that re-exports this class; the
class itself is found through ``PYTHONPATH`` (the repository root).
"""

import io

from nova import conf as nova_conf
from nova.image import glance
from nova.virt import fake
from oslo_config import cfg
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
CONF = nova_conf.CONF

CONF.register_opts([
    cfg.IntOpt('vcpus', default=8, min=1, help='vCPUs this fake hypervisor reports.'),
    cfg.IntOpt('memory_mb', default=32768, min=1, help='Memory (MiB) it reports.'),
    cfg.IntOpt('local_gb', default=200, min=1, help='Local disk (GB) it reports.'),
], group='climate_fake_virt')


class SizedFakeDriver(fake.FakeDriverWithoutFakeNodes):
    """A fake hypervisor whose capacity comes from ``[climate_fake_virt]``."""

    def __init__(self, virtapi, read_only=False):
        size = CONF.climate_fake_virt
        # FakeDriver.__init__ sizes its resource tracker from these attributes.
        self.vcpus = size.vcpus
        self.memory_mb = size.memory_mb
        self.local_gb = size.local_gb
        super().__init__(virtapi, read_only=read_only)
        LOG.info('SizedFakeDriver: %d vCPU, %d MiB RAM, %d GB disk',
                 self.vcpus, self.memory_mb, self.local_gb)

    def snapshot(self, context, instance, image_id, update_task_state):
        super().snapshot(context, instance, image_id, update_task_state)
        api = glance.API()
        image = api.get(context, image_id)
        metadata = {'disk_format': image.get('disk_format') or 'raw',
                    'container_format': image.get('container_format') or 'bare'}
        api.update(context, image_id, metadata,
                   io.BytesIO(f'fake disk of {instance.uuid}\n'.encode()),
                   purge_props=False)
        LOG.info('SizedFakeDriver: uploaded snapshot %s of %s', image_id, instance.uuid)
