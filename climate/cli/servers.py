"""``climate server-reserve`` and ``climate server-create`` (virtual:instance).

They call :mod:`climate.client.servers`, imported when the command runs: it brings
python-novaclient, which the other commands do without. The lease request goes
through this CLI's own adapter, so ``--os-endpoint`` / the catalog choose the
reservation endpoint as for other commands; Nova is found in the catalog of the same
session (so ``server-create`` needs Keystone authentication, not ``--os-auth-type
none``).
"""

import importlib

from cliff import show

from climate.cli import params
from climate.client import dates
from climate.client.exceptions import ClimateClientError

ON_END = ('snapshot_and_delete', 'delete', 'shelve', 'none')


def _servers_module():
    # Imported when a command runs: it brings novaclient, which other commands skip.
    return importlib.import_module('climate.client.servers')


def _add_window(parser):
    parser.add_argument('--start', default='now', metavar='DATE',
                        help="'now' (default), 'YYYY-MM-DD HH:MM' (UTC) or RFC 3339")
    parser.add_argument('--end', required=True, metavar='DATE',
                        help="'YYYY-MM-DD HH:MM' (UTC) or RFC 3339")
    parser.add_argument('--on-end', choices=ON_END,
                        help='what happens to the server when the lease ends '
                             '(the service default is snapshot_and_delete)')
    parser.add_argument('--lease-name', help='name of the lease')


def _call(function, *args, **kwargs):
    """Run a flow of climate.client.servers; its errors become one-line CLI errors."""
    module = _servers_module()
    try:
        return function(module)(*args, **kwargs)
    except module.ClientError as exc:
        raise ClimateClientError(str(exc)) from exc


class ReserveServer(show.ShowOne):
    """Reserve an existing server: shelved until the lease starts, removed at its end."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('server', metavar='SERVER', help='UUID of the Nova server')
        _add_window(parser)
        return parser

    def take_action(self, parsed):
        client = self.app.client
        lease = _call(lambda m: m.reserve_server, client.http.session, parsed.server,
                      dates.to_api_date(parsed.start), dates.to_api_date(parsed.end),
                      lease_name=parsed.lease_name, on_end=parsed.on_end,
                      api=client.http)
        return params.show(lease, parsed)


def _compute(app, wait_timeout=600.0):
    """The user's Nova, at ``--os-compute-endpoint-override`` when given (e.g. the
    quickstart's simulated Nova), else from the catalog."""
    nova = importlib.import_module('climate.client.nova')
    return nova.UserNovaDriver(app.client.http.session,
                               endpoint_override=app.compute_endpoint,
                               wait_timeout=wait_timeout)


class BootServer(show.ShowOne):
    """Boot a server through Nova (e.g. into a capacity reservation:
    ``--flavor <reservation id> [--hint group=<server group>]``) and wait until it
    is ACTIVE; a server that goes to ERROR (e.g. no room left in the reservation) is
    an error of the command, with Nova's fault."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='NAME', help='name of the new server')
        parser.add_argument('--flavor', required=True, help='flavor id')
        parser.add_argument('--image', required=True, help='image id')
        parser.add_argument('--hint', action='append', default=[], metavar='KEY=VALUE',
                            help='scheduler hint (repeatable), e.g. group=<id>')
        parser.add_argument('--timeout', type=float, default=600.0,
                            help='seconds to wait for ACTIVE or ERROR')
        return parser

    def take_action(self, parsed):
        hints = {}
        for item in parsed.hint:
            key, sep, value = item.partition('=')
            if not sep or not key:
                raise ClimateClientError(f'Invalid --hint {item!r}: expected KEY=VALUE')
            hints[key] = value
        compute = _compute(self.app, parsed.timeout)
        nova = importlib.import_module('climate.client.nova')
        try:
            server = compute.create_server(parsed.name, parsed.flavor, parsed.image,
                                           scheduler_hints=hints or None)
            server = compute.wait_for_server(server.id)
        except nova.NovaError as error:
            raise ClimateClientError(f'Cannot boot {parsed.name!r}: '
                                     f'{error.message}') from error
        return params.show({'id': server.id, 'name': server.name,
                            'status': server.status}, parsed)


class CreateServer(show.ShowOne):
    """Boot a server through Nova and reserve it in one step."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='NAME', help='name of the new server')
        parser.add_argument('--flavor', required=True, help='flavor id')
        parser.add_argument('--image', required=True, help='image id')
        parser.add_argument('--network', action='append', metavar='NETWORK_ID',
                            help="network id to attach (repeatable), or 'auto' or "
                                 "'none' (the default)")
        _add_window(parser)
        return parser

    def take_action(self, parsed):
        client = self.app.client
        chosen = parsed.network or ['none']
        if len(chosen) == 1 and chosen[0] in ('auto', 'none'):
            networks = chosen[0]
        else:
            networks = [{'uuid': net} for net in chosen]
        compute = _compute(self.app) if self.app.compute_endpoint else None
        reserved = _call(lambda m: m.create_and_reserve_server, client.http.session,
                         parsed.name, parsed.flavor, parsed.image,
                         dates.to_api_date(parsed.start), dates.to_api_date(parsed.end),
                         networks=networks, lease_name=parsed.lease_name,
                         on_end=parsed.on_end, api=client.http, compute=compute)
        lease = dict(reserved.lease, server_id=reserved.server.id)
        return params.show(lease, parsed)
