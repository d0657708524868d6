"""Registers the test host plugin as an entry point for another process.

``write(directory)`` makes a minimal ``*.dist-info`` there whose ``entry_points.txt``
maps ``test.host.plugin`` (namespace ``climate.resource.plugins``) to
:class:`tests.functional.api.host_plugin.HostPlugin`. A process started with
``PYTHONPATH=<directory>:<repository root>`` can then name it in ``[manager] plugins``.
Nothing of this is installed with Climate.
"""

import os

ENTRY_POINT = 'test.host.plugin'
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def write(directory):
    dist = os.path.join(str(directory), 'climate_test_plugins-0.dist-info')
    os.makedirs(dist, exist_ok=True)
    with open(os.path.join(dist, 'METADATA'), 'w') as f:
        f.write('Metadata-Version: 2.1\nName: climate-test-plugins\nVersion: 0\n')
    with open(os.path.join(dist, 'entry_points.txt'), 'w') as f:
        f.write('[climate.resource.plugins]\n'
                f'{ENTRY_POINT} = tests.functional.api.host_plugin:HostPlugin\n')
    return str(directory)


def environ(directory, base=None):
    """``os.environ`` (or ``base``) with the entry point and the tests importable."""
    env = dict(os.environ if base is None else base)
    paths = [write(directory), ROOT]
    if env.get('PYTHONPATH'):
        paths.append(env['PYTHONPATH'])
    env['PYTHONPATH'] = os.pathsep.join(paths)
    return env
