"""The checked-in sample policy is what oslopolicy-sample-generator makes now."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def test_policy_sample_is_current(tmp_path):
    output = tmp_path / 'policy.yaml.sample'
    generator = os.path.join(os.path.dirname(sys.executable),
                             'oslopolicy-sample-generator')
    subprocess.run([generator, '--namespace', 'climate', '--output-file', str(output)],
                   check=True, cwd=ROOT, capture_output=True)
    with open(os.path.join(ROOT, 'etc', 'policy.yaml.sample')) as checked_in:
        assert output.read_text() == checked_in.read(), (
            'etc/policy.yaml.sample is stale: run tools/genconfig.sh (or tox -e '
            'genconfig) and commit the result')


def test_every_rule_is_in_the_sample():
    from climate import policies
    with open(os.path.join(ROOT, 'etc', 'policy.yaml.sample')) as sample:
        text = sample.read()
    for rule in policies.list_rules():
        assert f'#"{rule.name}": "{rule.check_str}"' in text
