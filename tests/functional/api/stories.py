"""Runs gabbi YAML stories (``gabbits*/``) against a live API server.

Each YAML file is one story: its requests run in order, and the pytest test fails
with gabbi's report of the first failing step. ``$ENVIRON`` values the stories use
are set here: far-future dates, and times a few seconds from now for event stories.
"""

import datetime
import io
import os
import unittest

from gabbi import handlers
from gabbi import suitemaker
from gabbi import utils

HERE = os.path.dirname(os.path.abspath(__file__))


def story_files(directory):
    path = os.path.join(HERE, directory)
    return sorted(name for name in os.listdir(path) if name.endswith('.yaml'))


def _environ():
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    def rfc3339(seconds):
        return (now + datetime.timedelta(seconds=seconds)).isoformat()

    return {'CLIMATE_SOON_START': rfc3339(2), 'CLIMATE_SOON_END': rfc3339(8),
            'CLIMATE_IN_A_MINUTE': rfc3339(90)}


def run(directory, name, host, port):
    """Run one story; raise AssertionError with gabbi's output if a step fails."""
    os.environ.update(_environ())
    path = os.path.join(HERE, directory)
    with open(os.path.join(path, name)) as handle:
        data = utils.load_yaml(handle=handle)
    loader = unittest.TestLoader()
    suite = suitemaker.test_suite_from_dict(
        loader, name[:-5].replace('-', '_'), data, path, host, port, None, None,
        handlers=[handler() for handler in handlers.RESPONSE_HANDLERS],
        test_loader_name=__name__)
    stream = io.StringIO()
    result = unittest.TextTestRunner(stream=stream, verbosity=2).run(suite)
    if result.errors or result.failures or result.testsRun == 0:
        raise AssertionError(f'story {directory}/{name} failed:\n{stream.getvalue()}')
    skipped = [str(test) for test, _ in result.skipped]
    assert not any('xfail' in s for s in skipped)
    return result.testsRun
