"""Keystone trusts simulated for the in-memory driver, and calls acting through them.

``SimulatedTrusts`` stands in for Keystone: ``create_trust`` needs a context with a
token, user, project and roles (it does not check the token) and remembers the trust;
``delete_trust`` forgets it. ``ActingFor`` is ``MemoryDriver.acting_for(trust_id)``: a
view of the same simulated Nova (state, settings, and whatever wraps the driver's
calls in tests) whose every call acts as the trustor, so servers it boots and images
it makes belong to the trustor's project (and user). No Nova policy is simulated: the
view may also call what only admins may call in Nova. Once the trust is deleted every
call through the view raises ``ComputeError`` (status 401, not retryable).
"""

import contextlib
import copy
import threading
import uuid

from climate.compute import base
from climate.compute import exceptions


class SimulatedTrusts:
    """Live trusts, id -> ``{'project_id', 'user_id', 'roles'}``, and who the calls of
    the current thread act as; thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._trusts = {}
        self._acting = threading.local()    # .trust_id: the trust of the current call

    def create_trust(self, context):
        token = getattr(context, 'auth_token', None)
        roles = list(getattr(context, 'roles', None) or ())
        user_id = getattr(context, 'user_id', None)
        project_id = getattr(context, 'project_id', None)
        if not (token and user_id and project_id and roles):
            return None
        trust_id = str(uuid.uuid4())
        with self._lock:
            self._trusts[trust_id] = {'project_id': project_id, 'user_id': user_id,
                                      'roles': roles}
        return trust_id

    def delete_trust(self, trust_id):
        with self._lock:
            self._trusts.pop(trust_id, None)

    def trusts(self):
        """A copy of the live trusts."""
        with self._lock:
            return copy.deepcopy(self._trusts)

    def trust_ids(self):
        with self._lock:
            return set(self._trusts)

    @staticmethod
    def issue_user_token(user_id, project_id, roles=('member',)):
        """A token for a user's request context: any token does here."""
        return uuid.uuid4().hex

    def trustor(self):
        """(project_id, user_id) of the trustor the current call acts as, or None
        outside ``acting``.

        :raises ComputeError: (401) the trust of the call was deleted.
        """
        trust_id = getattr(self._acting, 'trust_id', None)
        if trust_id is None:
            return None
        with self._lock:
            trust = self._trusts.get(trust_id)
        if trust is None:
            raise exceptions.ComputeError(
                f'Trust {trust_id} is not valid any more (deleted or unknown)',
                retryable=False, status_code=401)
        return trust['project_id'], trust['user_id']

    @contextlib.contextmanager
    def acting(self, trust_id):
        """Calls of this thread act as the trustor of ``trust_id`` inside the block.

        :raises ComputeError: (401) the trust does not exist (any more).
        """
        previous = getattr(self._acting, 'trust_id', None)
        self._acting.trust_id = trust_id
        try:
            self.trustor()
            yield
        finally:
            self._acting.trust_id = previous


def _as_trustor(name):
    def call(self, *args, **kwargs):
        with self._driver.keystone.acting(self.trust_id):
            return getattr(self._driver, name)(*args, **kwargs)
    call.__name__ = call.__qualname__ = name
    call.__doc__ = getattr(base.ComputeDriver, name).__doc__
    return call


def _from_driver(name):
    return property(lambda self: getattr(self._driver, name))


class ActingFor(base.ComputeDriver):
    """``MemoryDriver.acting_for(trust_id)``: the same simulated Nova, every call
    acting as the trust's trustor."""

    def __init__(self, driver, trust_id):
        # No base __init__: the waiting settings stay the driver's (tests change them).
        self._driver = driver
        self.trust_id = trust_id

    wait_timeout = _from_driver('wait_timeout')
    poll_interval = _from_driver('poll_interval')
    freepool_name = _from_driver('freepool_name')
    _sleep = _from_driver('_sleep')
    _clock = _from_driver('_clock')

    get_hypervisor = _as_trustor('get_hypervisor')
    list_hypervisors = _as_trustor('list_hypervisors')
    list_servers_on_host = _as_trustor('list_servers_on_host')
    find_aggregate = _as_trustor('find_aggregate')
    ensure_aggregate = _as_trustor('ensure_aggregate')
    add_host = _as_trustor('add_host')
    remove_host = _as_trustor('remove_host')
    set_aggregate_metadata = _as_trustor('set_aggregate_metadata')
    delete_aggregate = _as_trustor('delete_aggregate')
    get_server = _as_trustor('get_server')
    shelve_server = _as_trustor('shelve_server')
    unshelve_server = _as_trustor('unshelve_server')
    delete_server = _as_trustor('delete_server')
    create_image = _as_trustor('create_image')
    get_image_status = _as_trustor('get_image_status')
    set_server_metadata = _as_trustor('set_server_metadata')
    delete_server_metadata = _as_trustor('delete_server_metadata')
    create_server = _as_trustor('create_server')
    get_flavor = _as_trustor('get_flavor')
    ensure_flavor = _as_trustor('ensure_flavor')
    delete_flavor = _as_trustor('delete_flavor')
    list_servers_with_flavor = _as_trustor('list_servers_with_flavor')
    ensure_server_group = _as_trustor('ensure_server_group')
    delete_server_group = _as_trustor('delete_server_group')

    # Trusts are made and revoked for the user, not as them.
    def create_trust(self, context):
        return self._driver.create_trust(context)

    def delete_trust(self, trust_id):
        self._driver.delete_trust(trust_id)

    def acting_for(self, trust_id):
        return self._driver.acting_for(trust_id)
