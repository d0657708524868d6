"""The gabbi stories of ``gabbits/`` on every database backend (API and manager in
this process), ``gabbits-no-hosts/`` without a host plugin, ``gabbits-keystone/``
behind keystonemiddleware checking tokens with a fake Keystone over HTTP; and some
stories again with a climate-manager process on MariaDB over RabbitMQ."""

import pytest

from tests.functional.api import stories


@pytest.mark.parametrize('story', stories.story_files('gabbits'))
def test_story(local_api, story):
    stories.run('gabbits', story, local_api.host, local_api.port)


@pytest.mark.parametrize('story', stories.story_files('gabbits-no-hosts'))
def test_story_without_host_plugin(local_api_without_hosts, story):
    stories.run('gabbits-no-hosts', story, local_api_without_hosts.host,
                local_api_without_hosts.port)


@pytest.mark.parametrize('database', ['sqlite'], indirect=True)
@pytest.mark.parametrize('story', stories.story_files('gabbits-keystone'))
def test_story_with_keystone(keystone_api, story):
    stories.run('gabbits-keystone', story, keystone_api.host, keystone_api.port)
    assert keystone_api.keystone.validations  # tokens were checked over HTTP


RABBIT_STORIES = ['leases.yaml', 'lease-errors.yaml', 'hosts.yaml', 'lease-events.yaml',
                  'lease-idempotency.yaml']


@pytest.mark.parametrize('database', ['mysql'], indirect=True)
@pytest.mark.parametrize('story', RABBIT_STORIES)
def test_story_over_rabbitmq(rabbit_api, story):
    """The same stories with the manager in its own process, over RabbitMQ."""
    stories.run('gabbits', story, rabbit_api.host, rabbit_api.port)
