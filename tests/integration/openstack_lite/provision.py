"""What the environment holds before a test runs; idempotent, run on every start.

- Keystone: project ``service`` with the services' users (admin + service roles),
  Climate's service user ``climate``, and the catalog: compute, placement, image,
  network and ``reservation`` (Climate's API, URL configurable); two projects
  ``alpha``/``beta`` with member users and an extra admin user ``operator``.
- Nova/Glance: flavor ``climate.tiny`` and the tiny public raw image ``climate-tiny``.
- Leftovers of earlier runs are removed first (``clean_stale``): Nova keeps aggregates
  (Climate's freepool and reservation aggregates) and servers when Climate's own
  database is wiped. The environment belongs to Climate's tests, so every aggregate,
  server and snapshot image found at the start of a session is stale.
"""

import time

from keystoneclient.v3 import client as ks_client
from novaclient import client as nova_client
from novaclient import exceptions as nova_exc

SERVICE_USERS = ('nova', 'placement', 'glance', 'neutron', 'climate')
TEST_PROJECTS = {'alpha': 'alpha-member', 'beta': 'beta-member'}
OPERATOR = 'operator'
FLAVOR = {'name': 'climate.tiny', 'ram': 512, 'vcpus': 1, 'disk': 1}
IMAGE_NAME = 'climate-tiny'
IMAGE_DATA = b'climate openstack-lite tiny image\n' + b'\0' * 990


def catalog(settings):
    """``{service name: (type, URL)}`` registered in Keystone."""
    return {
        'nova': ('compute', settings.url('nova-api', '/v2.1')),
        'placement': ('placement', settings.url('placement')),
        'glance': ('image', settings.url('glance')),
        'neutron': ('network', settings.url('neutron-stub')),
        'climate': ('reservation', settings.reservation_url),
    }


def _one(items):
    items = list(items)
    return items[0] if items else None


def _role(ks, name):
    return _one(ks.roles.list(name=name)) or ks.roles.create(name)


def _project(ks, name, description):
    return (_one(ks.projects.list(name=name, domain='default'))
            or ks.projects.create(name, 'default', description=description))


def _user(ks, name, project):
    # Existing users keep their password: changing it would revoke the tokens that
    # already running services hold.
    return (_one(ks.users.list(name=name, domain='default'))
            or ks.users.create(name, domain='default', password=name,
                               default_project=project))


def _service(ks, name, service_type, url, region):
    service = (_one(ks.services.list(type=service_type))
               or ks.services.create(name, service_type))
    endpoints = {ep.interface: ep for ep in ks.endpoints.list(service=service)}
    for interface in ('public', 'internal', 'admin'):
        endpoint = endpoints.get(interface)
        if endpoint is None:
            ks.endpoints.create(service, url, interface=interface, region=region)
        elif endpoint.url != url:
            ks.endpoints.update(endpoint, url=url)


def keystone(settings, admin_session):
    """Create users, projects, roles and catalog; return ``{project name: id}``.

    One call at a time, on purpose: Keystone 30's policy enforcer initialises itself
    lazily and not thread-safely, so concurrent first requests got HTTP 500
    (``'Enforcer' object has no attribute '_warning_emitted'``) or a spurious 403.
    """
    ks = ks_client.Client(session=admin_session)
    admin_role, member_role = _role(ks, 'admin'), _role(ks, 'member')
    service_role = _role(ks, 'service')
    service = _project(ks, 'service', 'OpenStack services')
    for name in SERVICE_USERS:
        user = _user(ks, name, service)
        ks.roles.grant(admin_role, user=user, project=service)
        ks.roles.grant(service_role, user=user, project=service)
    for name, (service_type, url) in catalog(settings).items():
        _service(ks, name, service_type, url, settings.region)
    projects = {'service': service.id}
    for project_name, username in TEST_PROJECTS.items():
        project = _project(ks, project_name, 'Climate integration tests')
        ks.roles.grant(member_role, user=_user(ks, username, project), project=project)
        projects[project_name] = project.id
    admin_project = _project(ks, 'admin', 'Bootstrap project for the admin')
    ks.roles.grant(admin_role, user=_user(ks, OPERATOR, admin_project), project=admin_project)
    projects['admin'] = admin_project.id
    return projects


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f'timed out after {timeout:.0f} s waiting for {what}')
        time.sleep(0.5)


def clean_stale(admin_session, timeout=60):
    """Delete every server, aggregate and snapshot image; return what was removed."""
    nova = nova_client.Client('2.87', session=admin_session)
    removed = {'servers': [], 'aggregates': {}, 'images': []}
    servers = nova.servers.list(search_opts={'all_tenants': True})
    for server in servers:
        removed['servers'].append(server.name)
        try:
            nova.servers.delete(server)
        except nova_exc.NotFound:
            pass
    if servers:
        _wait(lambda: not nova.servers.list(search_opts={'all_tenants': True}),
              timeout, 'stale servers to be deleted')
    for aggregate in nova.aggregates.list():
        removed['aggregates'][aggregate.name] = list(aggregate.hosts)
        for host in aggregate.hosts:
            nova.aggregates.remove_host(aggregate, host)
        nova.aggregates.delete(aggregate)
    images = admin_session.get('/v2/images?limit=1000', endpoint_filter={
        'service_type': 'image'}).json()['images']
    for image in images:
        if image.get('image_type') == 'snapshot' or image.get('instance_uuid'):
            admin_session.delete(f'/v2/images/{image["id"]}',
                                 endpoint_filter={'service_type': 'image'})
            removed['images'].append(image['name'])
    return removed


def flavor(admin_session):
    nova = nova_client.Client('2.87', session=admin_session)
    try:
        return nova.flavors.find(name=FLAVOR['name']).id
    except nova_exc.NotFound:
        return nova.flavors.create(is_public=True, **FLAVOR).id


def image(admin_session):
    """The id of the active public image ``climate-tiny``, uploading it if needed."""
    glance = {'endpoint_filter': {'service_type': 'image'}}
    found = admin_session.get(f'/v2/images?name={IMAGE_NAME}', **glance).json()['images']
    for candidate in found:
        if candidate['status'] == 'active':
            return candidate['id']
        admin_session.delete(f'/v2/images/{candidate["id"]}', **glance)
    created = admin_session.post('/v2/images', json={
        'name': IMAGE_NAME, 'disk_format': 'raw', 'container_format': 'bare',
        'visibility': 'public'}, **glance).json()
    admin_session.put(f'/v2/images/{created["id"]}/file', data=IMAGE_DATA,
                      headers={'Content-Type': 'application/octet-stream'}, **glance)
    status = admin_session.get(f'/v2/images/{created["id"]}', **glance).json()['status']
    if status != 'active':
        raise RuntimeError(f'image {IMAGE_NAME} is {status!r} after upload')
    return created['id']
