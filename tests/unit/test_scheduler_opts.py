"""ClimateFilter's options are documented and importable without Nova.

The filter itself is tested against the real Nova in tests/nova (run in .venv-nova by
tools/run-tests.sh); this suite's virtualenv has no Nova.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_scheduler_package_and_options_import_neither_nova_nor_climate_conf():
    code = ('import sys, climate, climate.scheduler, climate.scheduler.opts; '
            'print(sorted(m for m in sys.modules '
            "if m.split('.')[0] == 'nova' or m == 'climate.conf'))")
    result = subprocess.run([sys.executable, '-c', code], check=True,
                            capture_output=True, text=True)
    assert result.stdout.strip() == '[]'


def test_nova_sample_of_the_filter_options_is_current(tmp_path):
    output = tmp_path / 'nova-climate-filter.conf.sample'
    subprocess.run([sys.executable, '-m', 'oslo_config.generator', '--config-file',
                    os.path.join(ROOT, 'etc', 'nova-climate-filter-config-generator.conf'),
                    '--output-file', str(output)],
                   check=True, cwd=ROOT, capture_output=True)
    with open(os.path.join(ROOT, 'etc', 'nova-climate-filter.conf.sample')) as checked_in:
        text = checked_in.read()
    assert output.read_text() == text, (
        'etc/nova-climate-filter.conf.sample is stale: run tools/genconfig.sh')
    assert '[climate]' in text
    for option in ('aggregate_freepool_name = freepool', 'az_prefix = climate_',
                   'owner_key = climate:owner', 'blazar_compatible = false'):
        assert f'#{option}\n' in text
