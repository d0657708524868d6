"""Usage policy commands: ``climate usage show`` (a project's usage and limits over
a window) and ``climate lease check`` (would this lease be accepted?)."""

from cliff import lister

from climate.cli import leases as lease_commands
from climate.cli import params
from climate.client.exceptions import ClimateClientError


class ShowUsage(lister.Lister):
    """Show what a project holds over a window, beside its limits.

    One row per resource held at any instant (its peak in the window), and one row per
    period for the hours resources (host_hours...).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--start', metavar='DATE',
                            help="'now' (default), 'YYYY-MM-DD HH:MM' (UTC) or RFC 3339")
        parser.add_argument('--end', metavar='DATE',
                            help='end of the window (default: 30 days after start)')
        parser.add_argument('--project', metavar='PROJECT_ID',
                            help="another project's usage (admins)")
        return parser

    def take_action(self, parsed):
        usage = self.app.client.usage.show(parsed.start, parsed.end, parsed.project)
        columns = ('Resource', 'Limit', 'Usage', 'From', 'To')
        rows = []
        for name, item in sorted(usage['resources'].items()):
            limit = item.get('limit')
            if 'periods' in item:
                rows.extend([name, limit, period['usage'], period['start'],
                             period['end']] for period in item['periods'])
            else:
                rows.append([name, limit, item['usage'], usage['start'], usage['end']])
        return columns, rows


class CheckLease(lease_commands.CreateLease):
    """Ask whether a lease would be accepted now, without creating it (same
    arguments as ``lease create``)."""

    def take_action(self, parsed):
        reservations = lease_commands._reservations(parsed)
        if not reservations:
            raise ClimateClientError(
                'A lease needs at least one --physical-reservation or --reservation')
        answer = self.app.client.leases.check(
            parsed.name, parsed.start_date, parsed.end_date, reservations,
            before_end=parsed.before_end_date)
        return params.show(answer, parsed)
