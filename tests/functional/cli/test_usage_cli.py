"""``climate usage show`` and ``climate lease check`` against ``climate-all-in-one``
(noauth, SQLite, real physical:host plugin on the memory driver) with a host quota."""

import json
import os
import subprocess
import sys

import pytest

from tests.functional.api import all_in_one

START, END = '2030-01-01 10:00', '2030-01-01 14:00'
ENFORCEMENT = ('[enforcement]\nenabled_filters = QuotaFilter\n'
               'quota_limits = hosts:2,host_hours:100\nusage_period = day\n')


@pytest.fixture(scope='module')
def climate(tmp_path_factory):
    server = all_in_one.AllInOne(
        tmp_path_factory.mktemp('all-in-one'),
        compute_config=all_in_one.AllInOne.MEMORY_COMPUTE + ENFORCEMENT).start()
    env = {key: value for key, value in os.environ.items() if not key.startswith('OS_')}
    env.update(OS_AUTH_TYPE='none', OS_ENDPOINT=server.url)
    executable = os.path.join(os.path.dirname(sys.executable), 'climate')

    def run(*args):
        result = subprocess.run([executable, *args, '-f', 'json'], capture_output=True,
                                text=True, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)
    for name in ('compute-1', 'compute-2', 'compute-3'):
        run('host', 'create', name)
    yield run
    server.stop()


def test_usage_show_and_lease_check(climate):
    climate('lease', 'create', 'one', '--start-date', START, '--end-date', END,
            '--physical-reservation', 'min=1,max=1')
    rows = climate('usage', 'show', '--start', '2030-01-01 00:00',
                   '--end', '2030-01-02 00:00')
    assert {'Resource': 'hosts', 'Limit': 2, 'Usage': 1,
            'From': '2030-01-01T00:00:00.000000',
            'To': '2030-01-02T00:00:00.000000'} in rows
    assert {'Resource': 'host_hours', 'Limit': 100, 'Usage': 4,
            'From': '2030-01-01T00:00:00.000000',
            'To': '2030-01-02T00:00:00.000000'} in rows

    refused = climate('lease', 'check', 'two', '--start-date', START, '--end-date', END,
                      '--physical-reservation', 'min=2,max=2')
    assert refused['accepted'] is False
    assert refused['rule'] == 'QuotaFilter'
    assert refused['error_code'] == 403
    accepted = climate('lease', 'check', 'two', '--start-date', START,
                       '--end-date', END, '--physical-reservation', 'min=1,max=1')
    assert accepted['accepted'] is True
    assert len(climate('lease', 'list')) == 1
