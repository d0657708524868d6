"""Entry points for oslo-config-generator: every option Climate registers."""

from climate import conf


def list_opts():
    """Return ``[(group, [opts])]`` for the ``climate`` namespace."""
    grouped = {}
    for module in conf.ALL_MODULES:
        for group, opts in module.list_opts().items():
            grouped.setdefault(group, []).extend(opts)
    return [(group, sorted(opts, key=lambda o: o.name))
            for group, opts in grouped.items()]


def set_lib_defaults():
    """Apply Climate's defaults to library options (``oslo.config.opts.defaults``)."""
    conf.database.set_lib_defaults()
