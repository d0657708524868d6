"""The same injected compute failure for either double behind the compute tests.

With the in-memory driver, ``climate.compute.fixture.ComputeFaults`` fails a driver
method directly. With the Nova driver over ``FakeNova``, ``NovaFaults`` offers the same
``inject_failure(method, …)``: the first HTTP request that method makes is answered
503 (retryable) or 403 (not). Both plan their faults in a
``climate.compute.fixture.Faults``; ``injector`` gives the one that fits.
"""

import contextlib

from climate.compute import fixture as compute_fixture

# The first request of the Nova API each driver method makes.
FIRST_REQUEST = {
    'get_hypervisor': ('GET', r'/os-hypervisors'),
    'list_servers_on_host': ('GET', r'/servers/detail'),
    'find_aggregate': ('GET', r'/os-aggregates$'),
    'add_host': ('POST', r'/os-aggregates/\d+/action$'),
    'get_server': ('GET', r'/servers/[^/]+$'),
    'shelve_server': ('POST', r'/servers/[^/]+/action$'),
    'unshelve_server': ('POST', r'/servers/[^/]+/action$'),
    'create_image': ('POST', r'/servers/[^/]+/action$'),
    'delete_server': ('DELETE', r'/servers/[^/]+$'),
    'set_server_metadata': ('POST', r'/servers/[^/]+/metadata$'),
    'get_image_status': ('GET', r'/image/v2/images/'),
}


class NovaFaults:
    """``ComputeFaults.inject_failure`` for a Nova driver talking to ``fake_nova``."""

    def __init__(self, fake_nova):
        self.fake_nova = fake_nova

    def inject_failure(self, method, times=1, retryable=True, after=False):
        http_method, path = FIRST_REQUEST[method]
        self.fake_nova.inject(status=503 if retryable else 403, method=http_method,
                              path=path, times=times, after=after,
                              message=f'Injected failure of {method}')

    def clear_faults(self):
        self.fake_nova.clear_faults()


@contextlib.contextmanager
def injector(kind, driver, backend):
    """Fault injection for ``driver``: ``ComputeFaults`` set up on it when ``kind``
    is memory, else ``NovaFaults`` on ``backend`` (its ``FakeNova``)."""
    if kind == 'memory':
        with compute_fixture.ComputeFaults(driver) as faults:
            yield faults
    else:
        yield NovaFaults(backend)
