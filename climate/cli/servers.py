"""``climate server-reserve`` and ``climate server-create`` (virtual:instance).

They use :mod:`climate.client.servers` of the virtual:instance plugin, imported when the
command runs, so the rest of the CLI works where that module is not installed yet.
"""

from cliff import show

from climate.cli import params
from climate.client import dates
from climate.client.exceptions import ClimateClientError

ON_END = ('snapshot_and_delete', 'delete', 'shelve', 'none')


def _servers_module():
    try:
        from climate.client import servers
    except ImportError as exc:
        raise ClimateClientError(
            'This installation has no virtual:instance client (climate.client.servers)'
        ) from exc
    return servers


def _add_window(parser):
    parser.add_argument('--start', default='now', metavar='DATE',
                        help="'now' (default), 'YYYY-MM-DD HH:MM' (UTC) or RFC 3339")
    parser.add_argument('--end', required=True, metavar='DATE')
    parser.add_argument('--on-end', choices=ON_END, default='snapshot_and_delete',
                        help='what happens to the server when the lease ends')
    parser.add_argument('--lease-name', help='name of the lease (default: from server)')


def _window(parsed):
    return dates.to_api_date(parsed.start), dates.to_api_date(parsed.end)


class ReserveServer(show.ShowOne):
    """Reserve an existing server: shelved until the lease starts, removed at its end."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('server', metavar='SERVER', help='UUID of the Nova server')
        _add_window(parser)
        return parser

    def take_action(self, parsed):
        start, end = _window(parsed)
        lease = _servers_module().reserve_server(
            self.app.client.http.session, parsed.server, start, end,
            on_end=parsed.on_end, lease_name=parsed.lease_name)
        return params.show(lease)


class CreateServer(show.ShowOne):
    """Boot a server through Nova and reserve it in one step."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='NAME', help='name of the new server')
        parser.add_argument('--flavor', required=True)
        parser.add_argument('--image', required=True)
        parser.add_argument('--network', help='network to attach')
        _add_window(parser)
        return parser

    def take_action(self, parsed):
        start, end = _window(parsed)
        lease = _servers_module().create_and_reserve_server(
            self.app.client.http.session, parsed.name, start, end,
            flavor=parsed.flavor, image=parsed.image, network=parsed.network,
            on_end=parsed.on_end, lease_name=parsed.lease_name)
        return params.show(lease)
