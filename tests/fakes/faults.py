"""The same injected compute failure for either backend of the compute tests.

``MemoryDriver`` fails a driver method directly; ``FakeNova`` answers the first HTTP
request that method makes with 503 (retryable) or 403 (not).
"""

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


def inject_failure(kind, backend, method, times=1, retryable=True, after=False):
    """Make ``method`` fail ``times`` times on ``backend`` (``kind`` memory or nova)."""
    if kind == 'memory':
        backend.inject_failure(method, times=times, retryable=retryable, after=after)
        return
    http_method, path = FIRST_REQUEST[method]
    backend.inject(status=503 if retryable else 403, method=http_method, path=path,
                   times=times, after=after, message=f'Injected failure of {method}')
