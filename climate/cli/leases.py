"""``climate lease create|list|show|set|delete``."""

from cliff import command
from cliff import lister
from cliff import show

from climate.cli import params
from climate.client import dates
from climate.client.exceptions import ClimateClientError

PHYSICAL_DEFAULTS = {'min': '', 'max': '', 'hypervisor_properties': '',
                     'resource_properties': ''}


def _reservations(parsed):
    """The ``reservations`` list from --physical-reservation and --reservation."""
    result = []
    for text in parsed.physical_reservations or ():
        given = params.key_values(text, '--physical-reservation')
        values = dict(PHYSICAL_DEFAULTS, **given)
        values['resource_type'] = 'physical:host'
        result.append(values)
    for text in parsed.reservations or ():
        result.append(params.key_values(text, '--reservation'))
    return result


def _durations(parsed):
    return {key: dates.parse_duration(getattr(parsed, key))
            for key in ('prolong_for', 'reduce_by', 'defer_by', 'advance_by')
            if getattr(parsed, key, None)}


def _with_boot_hint(lease):
    """The lease, plus ``boot_with`` when it has capacity reservations: the options
    of ``openstack server create`` that use them (the reservation's flavor, and its
    server group when it has one)."""
    hints = []
    for reservation in lease.get('reservations') or ():
        flavor = reservation.get('flavor_id')
        if not flavor:
            continue
        hint = f'--flavor {flavor}'
        if reservation.get('server_group_id'):
            hint += f' --hint group={reservation["server_group_id"]}'
        hints.append(hint)
    if not hints:
        return lease
    return dict(lease, boot_with=hints[0] if len(hints) == 1 else hints)


class ListLeases(lister.Lister):
    """List leases (every page the API answers, unless --limit)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--status', help='only leases in this status (e.g. ACTIVE)')
        parser.add_argument('--name', help='only leases with this name')
        parser.add_argument('--limit', type=params.positive_int, metavar='N',
                            help='list at most N leases')
        return parser

    def take_action(self, parsed):
        columns = ('id', 'name', 'start_date', 'end_date', 'status')
        leases = self.app.client.leases.list(status=parsed.status, name=parsed.name,
                                             limit=parsed.limit)
        return columns, [[lease.get(c) for c in columns] for lease in leases]


class ShowLease(show.ShowOne):
    """Show a lease, found by id or name."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('lease', metavar='LEASE', help='id or name of the lease')
        return parser

    def take_action(self, parsed):
        return params.show(_with_boot_hint(self.app.client.leases.find(parsed.lease)),
                           parsed)


class CreateLease(show.ShowOne):
    """Create a lease of hosts or instances for a time window."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='NAME', help='name of the lease')
        parser.add_argument('--start-date', default='now', metavar='DATE',
                            help="'now' (default), 'YYYY-MM-DD HH:MM' (UTC) or RFC 3339")
        parser.add_argument('--end-date', metavar='DATE',
                            help="'YYYY-MM-DD HH:MM' (UTC) or RFC 3339 (required "
                                 "without --earliest)")
        parser.add_argument('--earliest', metavar='DURATION',
                            help='book the earliest window of DURATION (30m, 4h, 2d) '
                                 'in which the reservation fits, starting at or after '
                                 '--start-date and ending by --end-date (default: '
                                 'within 31 days)')
        parser.add_argument('--before-end-date', metavar='DATE',
                            help='when the before_end event fires')
        parser.add_argument(
            '--physical-reservation', dest='physical_reservations', action='append',
            metavar='min=N,max=N,hypervisor_properties=JSON,resource_properties=JSON',
            help='reserve between min and max hosts (repeatable)')
        parser.add_argument(
            '--reservation', dest='reservations', action='append',
            metavar='resource_type=TYPE,key=value,...',
            help='any reservation (repeatable), e.g. an existing server: '
                 'resource_type=virtual:instance,resource_id=UUID; capacity: '
                 'resource_type=virtual:instance,vcpus=1,memory_mb=512,disk_gb=10,'
                 'amount=2,affinity=None; a flavor: '
                 'resource_type=flavor:instance,flavor_id=ID,amount=2')
        return parser

    def take_action(self, parsed):
        reservations = _reservations(parsed)
        if not reservations:
            raise ClimateClientError(
                'A lease needs at least one --physical-reservation or --reservation')
        if parsed.earliest:
            if parsed.before_end_date:
                raise ClimateClientError('--before-end-date cannot be given with '
                                         '--earliest')
            lease = self.app.client.leases.create_earliest(
                parsed.name, dates.parse_duration(parsed.earliest), reservations,
                start_after=parsed.start_date, end_before=parsed.end_date)
            return params.show(lease, parsed)
        if not parsed.end_date:
            raise ClimateClientError('--end-date is required (or give --earliest)')
        lease = self.app.client.leases.create(
            parsed.name, parsed.start_date, parsed.end_date, reservations,
            before_end=parsed.before_end_date)
        return params.show(_with_boot_hint(lease), parsed)


class SetLease(show.ShowOne):
    """Rename a lease, move or resize its window, or change its reservations."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('lease', metavar='LEASE', help='id or name of the lease')
        parser.add_argument('--name', help='new name')
        parser.add_argument('--start-date', metavar='DATE', help='new start date')
        parser.add_argument('--end-date', metavar='DATE', help='new end date')
        parser.add_argument('--before-end-date', metavar='DATE')
        for option, text in (('--prolong-for', 'move the end later by'),
                             ('--reduce-by', 'move the end earlier by'),
                             ('--defer-by', 'move the start later by'),
                             ('--advance-by', 'move the start earlier by')):
            parser.add_argument(option, metavar='DURATION',
                                help=f'{text} DURATION (30m, 2h, 1d)')
        parser.add_argument('--reservation', dest='reservations', action='append',
                            metavar='id=RESERVATION_ID,key=value,...',
                            help='change one reservation (repeatable)')
        return parser

    def take_action(self, parsed):
        client = self.app.client
        lease_id = client.leases.find(parsed.lease)['id']
        reservations = [params.key_values(text, '--reservation')
                        for text in parsed.reservations or ()]
        if any('id' not in item for item in reservations):
            raise ClimateClientError('--reservation needs id=RESERVATION_ID')
        lease = client.leases.update(
            lease_id, name=parsed.name, start=parsed.start_date, end=parsed.end_date,
            before_end=parsed.before_end_date, reservations=reservations,
            **_durations(parsed))
        return params.show(lease, parsed)


class DeleteLease(command.Command):
    """Delete leases, found by id or name."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('leases', metavar='LEASE', nargs='+', help='id or name')
        return parser

    def take_action(self, parsed):
        client = self.app.client
        for name_or_id in parsed.leases:
            lease = client.leases.find(name_or_id)
            client.leases.delete(lease['id'])
            self.app.stdout.write(f"Deleted lease {lease['name']} ({lease['id']})\n")
