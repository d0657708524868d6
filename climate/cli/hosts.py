"""Operator commands: ``climate host …`` (with ``host reallocate`` and ``host
maintenance create|list|delete``), ``allocation list``, ``property list|set``."""

from cliff import command
from cliff import lister
from cliff import show

from climate.cli import params
from climate.client import dates
from climate.client.exceptions import ClimateClientError


def _extras(values):
    extras = {}
    for text in values or ():
        key, sep, value = text.partition('=')
        if not sep or not key:
            raise ClimateClientError(f"Invalid --extra '{text}': expected key=value")
        extras[key] = value
    return extras


def _add_extra(parser):
    parser.add_argument('--extra', action='append', metavar='KEY=VALUE',
                        help='extra capability of the host (repeatable)')


class ListHosts(lister.Lister):
    """List the hosts in the reservable pool, with their state (``status`` is
    ``down`` while Nova's compute service is down, disabled or forced down)."""

    def take_action(self, parsed):
        columns = ('id', 'hypervisor_hostname', 'vcpus', 'memory_mb', 'local_gb',
                   'reservable', 'status', 'status_reason')
        return columns, [[host.get(c) for c in columns]
                         for host in self.app.client.hosts.list()]


class ShowHost(show.ShowOne):
    """Show a host, found by id or hypervisor hostname."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', metavar='HOST', help='id or hypervisor hostname')
        return parser

    def take_action(self, parsed):
        return params.show(self.app.client.hosts.find(parsed.host), parsed)


class CreateHost(show.ShowOne):
    """Enroll a hypervisor into the reservable pool."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='NAME', help="the hypervisor's hostname")
        _add_extra(parser)
        return parser

    def take_action(self, parsed):
        host = self.app.client.hosts.create(parsed.name, **_extras(parsed.extra))
        return params.show(host, parsed)


class SetHost(show.ShowOne):
    """Set extra capabilities of a host."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', metavar='HOST', help='id or hypervisor hostname')
        _add_extra(parser)
        return parser

    def take_action(self, parsed):
        extras = _extras(parsed.extra)
        if not extras:
            raise ClimateClientError('Nothing to set: give --extra KEY=VALUE')
        client = self.app.client
        host_id = client.hosts.find(parsed.host)['id']
        return params.show(client.hosts.update(host_id, **extras), parsed)


class DeleteHost(command.Command):
    """Remove hosts from the reservable pool."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('hosts', metavar='HOST', nargs='+',
                            help='id or hypervisor hostname')
        return parser

    def take_action(self, parsed):
        client = self.app.client
        for name_or_id in parsed.hosts:
            host = client.hosts.find(name_or_id)
            client.hosts.delete(host['id'])
            self.app.stdout.write(
                f"Deleted host {host['hypervisor_hostname']} ({host['id']})\n")


class ReallocateHost(show.ShowOne):
    """Move a host's allocations (of one lease or reservation, or all) to other
    matching hosts; nothing moves unless all can."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', metavar='HOST', help='id or hypervisor hostname')
        parser.add_argument('--lease', help='only this lease (id or name)')
        parser.add_argument('--reservation-id', help='only this reservation')
        return parser

    def take_action(self, parsed):
        client = self.app.client
        host_id = client.hosts.find(parsed.host)['id']
        lease_id = client.leases.find(parsed.lease)['id'] if parsed.lease else None
        allocation = client.hosts.reallocate(host_id, lease_id=lease_id,
                                             reservation_id=parsed.reservation_id)
        return params.show(allocation, parsed)


class CreateMaintenance(show.ShowOne):
    """Take a host out of service for a window: the leases on it then move to
    other hosts (refused, naming them, when some cannot, unless --force)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', metavar='HOST', help='id or hypervisor hostname')
        parser.add_argument('--start-date', required=True, metavar='DATE',
                            help="'now', 'YYYY-MM-DD HH:MM' (UTC) or RFC 3339")
        parser.add_argument('--end-date', required=True, metavar='DATE')
        parser.add_argument('--reason', help='shown with the window')
        parser.add_argument('--force', action='store_true',
                            help='store the window even if leases cannot move '
                                 '(they are degraded)')
        return parser

    def take_action(self, parsed):
        client = self.app.client
        host_id = client.hosts.find(parsed.host)['id']
        maintenance = client.hosts.add_maintenance(
            host_id, dates.to_api_date(parsed.start_date),
            dates.to_api_date(parsed.end_date), reason=parsed.reason,
            force=parsed.force)
        return params.show(maintenance, parsed)


class ListMaintenances(lister.Lister):
    """List a host's maintenance windows that have not ended."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', metavar='HOST', help='id or hypervisor hostname')
        return parser

    def take_action(self, parsed):
        client = self.app.client
        host_id = client.hosts.find(parsed.host)['id']
        columns = ('id', 'start_date', 'end_date', 'reason')
        return columns, [[item.get(c) for c in columns]
                         for item in client.hosts.maintenances(host_id)]


class DeleteMaintenance(command.Command):
    """End a host's maintenance window."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', metavar='HOST', help='id or hypervisor hostname')
        parser.add_argument('maintenance', metavar='ID')
        return parser

    def take_action(self, parsed):
        client = self.app.client
        host_id = client.hosts.find(parsed.host)['id']
        client.hosts.delete_maintenance(host_id, parsed.maintenance)
        self.app.stdout.write(f'Deleted maintenance {parsed.maintenance}\n')


class ListAllocations(lister.Lister):
    """List hosts and the reservations that hold them."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--lease', help='only this lease (id or name)')
        parser.add_argument('--reservation-id', help='only this reservation')
        return parser

    def take_action(self, parsed):
        client = self.app.client
        lease_id = client.leases.find(parsed.lease)['id'] if parsed.lease else None
        allocations = client.allocations.list(lease_id=lease_id,
                                              reservation_id=parsed.reservation_id)
        return ('resource_id', 'reservations'), [
            [item.get('resource_id'),
             params.structured(item.get('reservations', []), parsed)]
            for item in allocations]


class ListProperties(lister.Lister):
    """List the extra-capability properties of hosts."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--detail', action='store_true',
                            help='show whether private and the values in use')
        parser.add_argument('--all', action='store_true',
                            help='include private properties')
        return parser

    def take_action(self, parsed):
        items = self.app.client.properties.list(detail=parsed.detail,
                                                all_properties=parsed.all)
        columns = ('property', 'private', 'values') if parsed.detail else ('property',)
        return columns, [[params.structured(item[c], parsed)
                          if isinstance(item.get(c), list) else item.get(c)
                          for c in columns] for item in items]


class SetProperty(show.ShowOne):
    """Make a host property private (hidden from users) or public."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('property', metavar='PROPERTY')
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument('--private', dest='private', action='store_true')
        group.add_argument('--public', dest='private', action='store_false')
        return parser

    def take_action(self, parsed):
        prop = self.app.client.properties.set(parsed.property, parsed.private)
        return params.show(prop, parsed)
