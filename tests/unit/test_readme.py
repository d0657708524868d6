"""Every command the README's shell blocks run is there after ``tools/quickstart.sh``.

A ``./tools/…`` script must exist and be executable; any other command must be a
console script of Climate or of a distribution that ``requirements.txt`` or
``quickstart-requirements.txt`` (what the quickstart installs into .venv) names.
The few exceptions are commands the README presents as the operator's own.
"""

from importlib import metadata
import os
import re
import shlex

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Shell built-ins the walk-through uses.
BUILTINS = {'source', 'export', 'cd'}
# Installed by whoever deploys; the README says so next to the command.
OPERATOR_TOOLS = {'uwsgi'}


def _read(*path):
    with open(os.path.join(ROOT, *path), encoding='utf-8') as f:
        return f.read()


def readme_commands():
    """The first word of each command line of the README's ```sh blocks."""
    commands = []
    for block in re.findall(r'```sh\n(.*?)```', _read('README.md'), re.S):
        continued = False
        for line in block.splitlines():
            text = line.split(' #', 1)[0].strip()
            starts_command = text and not continued and not text.startswith('#')
            continued = text.endswith('\\')
            if starts_command:
                commands.append(shlex.split(text.rstrip('\\'))[0])
    return commands


def _requirement_names(*path):
    names = set()
    for line in _read(*path).splitlines():
        line = line.split('#', 1)[0].strip()
        if line and not line.startswith('-'):
            names.add(re.split(r'[<>=!~\[; ]', line, maxsplit=1)[0].lower()
                      .replace('_', '-').replace('.', '-'))
    return names


def _console_scripts():
    """Console script name -> normalised distribution name, for what is installed."""
    scripts = {}
    for dist in metadata.distributions():
        name = dist.metadata['Name'].lower().replace('_', '-').replace('.', '-')
        for entry in dist.entry_points.select(group='console_scripts'):
            scripts.setdefault(entry.name, name)
    return scripts


def test_the_walk_through_is_found():
    commands = readme_commands()
    for expected in ('./tools/quickstart.sh', 'climate', 'blazar', 'openstack',
                     'climate-db-manage', './tools/docs.sh'):
        assert expected in commands


def test_every_readme_command_comes_with_the_quickstart():
    installed = (_requirement_names('requirements.txt')
                 | _requirement_names('quickstart-requirements.txt') | {'climate'})
    scripts = _console_scripts()
    missing = []
    for command in readme_commands():
        if command in BUILTINS or command in OPERATOR_TOOLS:
            continue
        if command.startswith('./'):
            path = os.path.join(ROOT, command)
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                missing.append(f'{command}: no such executable script')
        elif scripts.get(command) not in installed:
            missing.append(f'{command}: from {scripts.get(command) or "nothing installed"}, '
                           'which the quickstart does not install')
    assert not missing, missing
