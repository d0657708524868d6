"""Process start-up shared by the console commands: configuration and logging."""

from oslo_config import cfg
from oslo_log import log as logging

from climate import version
import climate.conf  # noqa: F401  (registers every option)

_LOGGING_REGISTERED = False


def prepare(argv, conf=cfg.CONF, default_config_files=None):
    """Parse ``argv`` and config files into ``conf`` and set up oslo.log."""
    global _LOGGING_REGISTERED
    if not _LOGGING_REGISTERED:
        logging.register_options(conf)
        _LOGGING_REGISTERED = True
    conf(argv, project='climate', version=version.version_string(),
         default_config_files=default_config_files)
    logging.setup(conf, 'climate')
    return conf
