"""The checked-in sample configuration is what oslo-config-generator produces now."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_sample_config_is_current(tmp_path):
    output = tmp_path / 'climate.conf.sample'
    subprocess.run([sys.executable, '-m', 'oslo_config.generator', '--config-file',
                    os.path.join(ROOT, 'etc', 'climate-config-generator.conf'),
                    '--output-file', str(output)],
                   check=True, cwd=ROOT, capture_output=True)
    with open(os.path.join(ROOT, 'etc', 'climate.conf.sample')) as checked_in:
        assert output.read_text() == checked_in.read(), (
            'etc/climate.conf.sample is stale: run tox -e genconfig '
            '(or tools/genconfig.sh) and commit the result')


def test_every_climate_option_is_in_the_sample():
    from climate import opts
    with open(os.path.join(ROOT, 'etc', 'climate.conf.sample')) as sample:
        text = sample.read()
    for group, options in opts.list_opts():
        group_name = getattr(group, 'name', group) or 'DEFAULT'
        assert f'[{group_name}]' in text
        for opt in options:
            assert re.search(rf'^#{opt.dest} =', text, re.M), \
                f'{group_name}.{opt.dest} missing'
