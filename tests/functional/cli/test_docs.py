"""The documentation builds with warnings as errors (as ``tox -e docs`` does).

The configuration, policy and command references are generated during the build from
the code (oslo_config.sphinxext, oslo_policy.sphinxext, cliff.sphinxext), so a build that
passes here is current; the checks below make sure they were generated at all.
"""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


@pytest.fixture(scope='module')
def html(tmp_path_factory):
    pytest.importorskip('sphinx', reason='doc/requirements.txt is not installed')
    out = tmp_path_factory.mktemp('html')
    result = subprocess.run(
        [sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-q', '-b', 'html',
         '-d', str(out / '.doctrees'), os.path.join(ROOT, 'doc', 'source'), str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, f'sphinx-build -W failed:\n{result.stderr}'
    return out


def _text(html, page):
    return (html / page).read_text()


def test_configuration_reference_lists_the_options(html):
    page = _text(html, 'operator/configuration.html')
    for option in ('claim_timeout', 'auth_strategy', 'aggregate_freepool_name'):
        assert option in page


def test_scheduler_filter_options_are_documented(html):
    page = _text(html, 'operator/hosts.html')
    assert 'owner_key' in page and 'blazar_compatible' in page


def test_policy_reference_lists_the_rules(html):
    page = _text(html, 'operator/policy.html')
    assert 'climate:leases:get' in page and 'climate:oshosts:post' in page


def test_cli_reference_lists_every_command(html):
    page = _text(html, 'reference/cli.html')
    for command in ('lease create', 'lease set', 'host create', 'allocation list',
                    'property set', 'server-reserve', 'server-create'):
        assert command in page, command


def test_release_notes_are_included(html):
    assert 'climate-all-in-one' in _text(html, 'reference/releasenotes.html')


def test_release_notes_lint():
    pytest.importorskip('reno')
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'reno'),
                             'lint'], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
