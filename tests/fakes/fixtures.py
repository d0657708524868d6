"""pytest fixtures for the test doubles; ``tests/conftest.py`` makes them global.

- ``fake_nova``: a started ``FakeNova`` (stopped after the test).
- ``nova_conf``: the ``conf`` fixture with [nova] pointing at ``fake_nova`` and
  ``[compute] driver = nova``, fast polling.
- ``nova_driver``: a ``climate.compute.nova.NovaDriver`` built from ``nova_conf``.

``user_context(world, …)`` is a user's request context for either double (a
``MemoryDriver`` or a ``FakeNova``), with a token it accepts.
"""

import pytest

from climate import context
from tests.fakes import nova_api


def user_context(world, user_id='user-b', project_id='project-b', roles=('member',)):
    """The context of a user's request to Climate's API, with a token ``world`` (the
    simulated Nova and Keystone) accepts: what lets a lease get a trust."""
    token = world.issue_user_token(user_id, project_id, roles)
    return context.RequestContext(auth_token=token, user_id=user_id,
                                  project_id=project_id, roles=list(roles))


@pytest.fixture
def fake_nova():
    with nova_api.FakeNova() as nova:
        yield nova


@pytest.fixture
def nova_conf(conf, fake_nova):
    fake_nova.configure(conf)
    conf.set_override('driver', 'nova', 'compute')
    conf.set_override('poll_interval', 0.02, 'compute')
    conf.set_override('wait_timeout', 5, 'compute')
    return conf


@pytest.fixture
def nova_driver(nova_conf):
    from climate.compute import nova
    return nova.NovaDriver(nova_conf)
