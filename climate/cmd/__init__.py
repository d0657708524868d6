"""Console entry points (see ``console_scripts`` in setup.cfg)."""

from climate.common import no_eventlet

# Before any command module imports oslo.messaging (and through it futurist).
no_eventlet.hide()
