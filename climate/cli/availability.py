"""``climate availability find|busy``: when hosts could be reserved, and when they
are busy."""

from cliff import lister

from climate.client import dates


def _request_arguments(parser):
    parser.add_argument('--min', default='1', metavar='N', help='hosts at least (1)')
    parser.add_argument('--max', metavar='N', help='hosts at most (default: --min)')
    parser.add_argument('--hypervisor-properties', metavar='JSON',
                        help='e.g. \'[">=", "$vcpus", "16"]\'')
    parser.add_argument('--resource-properties', metavar='JSON',
                        help='e.g. \'["==", "$gpu", "true"]\'')


def _fields(parsed):
    return {'min': parsed.min, 'max': parsed.max or parsed.min,
            'hypervisor_properties': parsed.hypervisor_properties,
            'resource_properties': parsed.resource_properties}


class FindAvailability(lister.Lister):
    """The earliest windows in which a host reservation would be accepted now."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--duration', required=True, metavar='DURATION',
                            help='length of the window: 30m, 4h, 2d')
        parser.add_argument('--start-after', metavar='DATE',
                            help="'now' (default), 'YYYY-MM-DD HH:MM' (UTC) or RFC 3339")
        parser.add_argument('--end-before', metavar='DATE',
                            help='end of the search range (default: 31 days later)')
        parser.add_argument('--limit', type=int, metavar='N',
                            help='at most N windows (default 10)')
        _request_arguments(parser)
        return parser

    def take_action(self, parsed):
        found = self.app.client.availability.find(
            dates.parse_duration(parsed.duration), start_after=parsed.start_after,
            end_before=parsed.end_before, limit=parsed.limit, **_fields(parsed))
        columns = ['start_date', 'end_date', 'free']
        windows = found['windows']
        if any('hosts' in w for w in windows):
            columns.append('hosts')
        rows = []
        for window in windows:
            row = [window['start_date'], window['end_date'], window['free']]
            if 'hosts' in columns:
                row.append(', '.join(h.get('hypervisor_hostname') or h['id']
                                     for h in window.get('hosts', ())))
            rows.append(row)
        return columns, rows


class ListBusy(lister.Lister):
    """The busy intervals of hosts over a range (your leases named, others' not)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--start', metavar='DATE', help='default: now')
        parser.add_argument('--end', metavar='DATE', help='default: 31 days later')
        parser.add_argument('--host', dest='hosts', action='append', metavar='HOST_ID',
                            help='only this host (repeatable)')
        _request_arguments(parser)
        return parser

    def take_action(self, parsed):
        fields = _fields(parsed)
        busy = self.app.client.availability.busy(
            start=parsed.start, end=parsed.end, host_ids=parsed.hosts or (),
            hypervisor_properties=fields['hypervisor_properties'],
            resource_properties=fields['resource_properties'])
        columns = ('host', 'start_date', 'end_date', 'lease_id')
        rows = []
        for host in busy['hosts']:
            name = host.get('hypervisor_hostname') or host['id']
            for item in host['busy']:
                rows.append([name, item['start_date'], item['end_date'],
                             item['lease_id'] or '(another project)'])
        return columns, rows
