"""The ``climate`` application: cliff plus the standard OpenStack client options.

Authentication and endpoint options come from openstacksdk's config loader (keystoneauth
plugins): ``--os-cloud`` and clouds.yaml, ``OS_*`` variables, ``--os-auth-url`` …, and
``--os-auth-type none --os-endpoint URL`` for a service running without Keystone.
"""

import sys

from cliff import app
from cliff import commandmanager

from climate.client import api
from climate.client.exceptions import ClimateClientError


class ClimateShell(app.App):
    """``climate [options] COMMAND …``: reservations of hosts and instances."""

    def __init__(self, argv=()):
        self._argv = list(argv)
        self._client = None
        self.cloud_config = None
        self.compute_endpoint = None
        super().__init__(
            description='Command-line client for the Climate reservation service',
            version=_version(),
            command_manager=commandmanager.CommandManager('climate.cli'),
            deferred_help=True)

    def build_option_parser(self, description, version, argparse_kwargs=None):
        # No abbreviations: openstacksdk adds hidden --reservation-* options that would
        # otherwise swallow a command's own --reservation.
        argparse_kwargs = dict(argparse_kwargs or {}, allow_abbrev=False)
        parser = super().build_option_parser(description, version, argparse_kwargs)
        from openstack import config as os_config  # slow import: only when run
        self.cloud_config = os_config.OpenStackConfig(load_envvars=True)
        # 'compute': --os-compute-endpoint-override (OS_COMPUTE_ENDPOINT_OVERRIDE)
        # for the server commands, e.g. the quickstart's simulated Nova.
        self.cloud_config.register_argparse_arguments(
            parser, self._argv, service_keys=['reservation', 'compute'])
        return parser

    @property
    def client(self):
        """The :class:`climate.client.api.Client` for the chosen cloud (made once)."""
        if self._client is None:
            try:
                cloud = self.cloud_config.get_one(argparse=self.options)
                session = cloud.get_session()
            except Exception as exc:
                raise ClimateClientError(
                    f'Invalid authentication options: {exc}') from exc
            override = cloud.config.get('reservation_endpoint_override')
            self.compute_endpoint = cloud.config.get('compute_endpoint_override')
            self._client = api.Client(
                session, endpoint_override=override,
                interface=cloud.get_interface('reservation'),
                region_name=cloud.get_region_name('reservation'))
        return self._client

    def clean_up(self, cmd, result, err):
        """Errors were logged by cliff as one line; nothing else to do."""


def _version():
    try:
        from climate import version
        return version.version_string()
    except Exception:  # pragma: no cover - metadata missing in odd installs
        return 'unknown'


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    return ClimateShell(argv).run(argv)


if __name__ == '__main__':
    sys.exit(main())
