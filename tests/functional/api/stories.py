"""Runs gabbi YAML stories (``gabbits*/``) against a live API server, one pytest
test per request, as OpenStack Placement runs its gabbits.

A story is one YAML file: its requests run in order against one server and database,
each later request free to use what the earlier ones left (gabbi's ``$RESPONSE``,
``$LOCATION``, …). Running one request alone runs the ones before it first (gabbi's
``use_prior_test``); once a request has failed, the rest of its story is skipped.
``$ENVIRON`` values the stories use are set when a story starts: far-future dates,
and times a few seconds from now for event stories.
"""

import datetime
import os
import re
import unittest

from gabbi import handlers
from gabbi import suitemaker
from gabbi import utils
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def story_files(directory):
    path = os.path.join(HERE, directory)
    return sorted(name for name in os.listdir(path) if name.endswith('.yaml'))


def _load(directory, name):
    with open(os.path.join(HERE, directory, name)) as handle:
        return utils.load_yaml(handle=handle)


def request_names(directory, name):
    """The names of the story's requests, in order (pytest ids: unique, printable)."""
    names = [test['name'] for test in _load(directory, name)['tests']]
    if not names:
        raise ValueError(f'story {directory}/{name} has no request')
    seen = {}
    ids = []
    for request in names:
        text = re.sub(r'\s+', ' ', request).strip()
        seen[text] = seen.get(text, 0) + 1
        ids.append(text if seen[text] == 1 else f'{text} ({seen[text]})')
    return ids


def _environ():
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    def rfc3339(seconds):
        return (now + datetime.timedelta(seconds=seconds)).isoformat()

    return {'CLIMATE_SOON_START': rfc3339(2), 'CLIMATE_SOON_END': rfc3339(8),
            'CLIMATE_IN_A_MINUTE': rfc3339(90)}


class Story:
    """One YAML file's requests as gabbi test cases bound to ``host``:``port``."""

    def __init__(self, directory, name, host, port):
        self.directory, self.name = directory, name
        os.environ.update(_environ())
        story = _load(directory, name)
        # Plain HTTP to 127.0.0.1: without this gabbi's client (httpx) loads the CA
        # bundle once per request, ~0.2 s each on a loaded machine.
        story.setdefault('defaults', {}).setdefault('cert_validate', False)
        suite = suitemaker.test_suite_from_dict(
            unittest.TestLoader(), name[:-5].replace('-', '_'), story,
            os.path.join(HERE, directory), host, port, None, None,
            handlers=[handler() for handler in handlers.RESPONSE_HANDLERS],
            test_loader_name=__name__)
        self.cases = list(suite)
        self.failed = None

    def run(self, index):
        """Run request ``index``: pytest's failure, skip or xfail if gabbi's is."""
        case = self.cases[index]
        if self.failed is not None:
            pytest.skip(f'an earlier request of {self.directory}/{self.name} failed: '
                        f'{self.failed!r}')
        result = unittest.TestResult()
        case.run(result)
        problems = result.errors + result.failures
        if problems or result.unexpectedSuccesses:
            self.failed = case.test_data['name']
        if problems:
            _test, text = problems[0]
            raise AssertionError(
                f'{self.directory}/{self.name}: {case.test_data["name"]!r} failed:\n{text}')
        if result.unexpectedSuccesses:
            pytest.fail(f'{case.test_data["name"]!r} passed but is marked xfail')
        if result.expectedFailures:
            pytest.xfail(result.expectedFailures[0][1].strip().splitlines()[-1])
        if result.skipped:
            reason = result.skipped[0][1]
            assert 'xfail' not in str(case), f'{case} skipped: {reason}'
            pytest.skip(reason)
        assert result.testsRun == 1
