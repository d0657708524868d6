"""Options of the REST API service: where it listens and how it authenticates
([DEFAULT], as in Blazar), and request limits, development identity and idempotency
keys ([api])."""

from oslo_config import cfg

api_opts = [
    cfg.HostAddressOpt('host',
                       default='0.0.0.0',
                       help='Address the climate-api server listens on. With '
                            'auth_strategy = noauth the default is 127.0.0.1 '
                            'instead, unless this option is set explicitly.'),
    cfg.PortOpt('port',
                default=1234,
                help='Port the climate-api server listens on.'),
    cfg.StrOpt('auth_strategy',
               default='keystone',
               choices=[('keystone', 'Validate the X-Auth-Token of every request '
                                     'with keystonemiddleware ([keystone_authtoken]).'),
                        ('noauth', 'No authentication: trust the X-User-Id, '
                                   'X-Project-Id and X-Roles headers as sent. For '
                                   'development and the quickstart only.')],
               help='How the API authenticates requests.'),
]

api_group = cfg.OptGroup('api', title='REST API options')

api_group_opts = [
    cfg.IntOpt('max_request_body_size',
               default=114688,
               min=1,
               help='Largest request body, in bytes, the API accepts; a larger one '
                    'is refused with 413.'),
    cfg.URIOpt('calendar_keystone_url',
               help='The Keystone URL (…/v3) the reservation calendar page (/calendar) '
                    'gets a token from when a user logs in with a password or an '
                    'application credential. Default: [keystone_authtoken] '
                    'www_authenticate_uri.'),
    cfg.IntOpt('max_json_depth',
               default=32,
               min=2,
               help='Deepest nesting of arrays and objects a JSON request body may '
                    'have; a deeper one is refused with 400 before it is decoded.'),
    cfg.URIOpt('public_endpoint',
               schemes=['http', 'https'],
               help='Base URL clients reach the API at (e.g. '
                    'https://cloud.example.com/reservation), used for the links in '
                    'responses (version document, next pages). Unset: the URL the '
                    'request was sent to (its Host header must be a valid '
                    'host[:port]).'),
    cfg.IntOpt('workers',
               default=16,
               min=1,
               help='climate-api and climate-all-in-one: threads running requests '
                    '(waitress\'s worker pool); more complete requests wait for one.'),
    cfg.IntOpt('client_socket_timeout',
               default=30,
               min=1,
               help='climate-api and climate-all-in-one: seconds a connection may stay '
                    'silent (between two requests, or in the middle of one) before '
                    'the server closes it; a request left unfinished is answered '
                    'first (400 for a body shorter than its Content-Length, 408 for '
                    'unfinished headers).'),
    cfg.IntOpt('max_connections',
               default=1000,
               min=1,
               help='climate-api and climate-all-in-one: open client connections '
                    '(kept-alive ones included) at most; more wait in the listen '
                    'queue until one closes.'),
    cfg.IntOpt('max_request_header_size',
               default=16384,
               min=1024,
               help='climate-api and climate-all-in-one: largest request line plus '
                    'headers, in bytes (431 above it).'),
    cfg.StrOpt('noauth_user_id',
               default='noauth-user',
               help='With auth_strategy = noauth: the user of a request that sends '
                    'no X-User-Id header.'),
    cfg.StrOpt('noauth_project_id',
               default='noauth-project',
               help='With auth_strategy = noauth: the project of a request that '
                    'sends no X-Project-Id header.'),
    cfg.ListOpt('noauth_roles',
                default=['admin', 'member', 'reader'],
                help='With auth_strategy = noauth: the roles of a request that sends '
                     'no X-Roles header (python-blazarclient with OS_AUTH_TYPE=none '
                     'sends none, and host management needs admin).'),
    cfg.IntOpt('idempotency_ttl',
               default=86400,
               min=1,
               help='Seconds during which an Idempotency-Key sent with POST '
                    '/v1/leases stands for the same request: a retry with the key '
                    'gets the lease the first request made. Read by climate-manager, '
                    'which keeps the keys; older keys are forgotten.'),
    cfg.IntOpt('max_limit',
               default=1000,
               min=1,
               help='Most items one page of a listing (GET /v1/leases, '
                    '/v1/os-hosts, /v1/os-hosts/allocations) holds: a request without '
                    'limit, or with a larger one, gets this many and a "next" link '
                    'when there may be more.'),
]


def register_opts(conf):
    conf.register_opts(api_opts)
    conf.register_group(api_group)
    conf.register_opts(api_group_opts, group=api_group)


def list_opts():
    return {'DEFAULT': api_opts, api_group: api_group_opts}
