"""Keeps eventlet out of Climate's processes.

oslo.service depends on eventlet, so eventlet is installed beside Climate, and futurist
(loaded by oslo.service's threading backend, which oslo.messaging loads) imports it
whenever it can, only to find out whether it is there. That import prints eventlet's
deprecation warning at every start and loads eventlet's hubs and green DNS resolver,
none of which Climate uses: it runs on native threads (see ``climate/__init__.py``).
"""

import sys


def hide():
    """Make ``import eventlet`` fail in this process from now on.

    Call it before oslo.messaging or oslo.service is imported. A process that already
    loaded eventlet (such as a nova-scheduler running Climate's filter) keeps it.
    """
    sys.modules.setdefault('eventlet', None)
