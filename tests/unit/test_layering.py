"""Imports inside ``climate/`` go only the way the layering allows.

Every ``import`` statement of every module under ``climate/`` counts, wherever it
stands (module level, inside a function or a method, under ``if TYPE_CHECKING``). Each
importing and imported module is mapped to its layer (the longest prefix in
``LAYERS``), and the edge must be listed in ``MAY_IMPORT``; a module always may import
its own layer. The package root ``climate/__init__.py`` imports nothing of Climate, so
importing any part of it (the API client, the Nova filter) loads only that part.
"""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE_DIR = os.path.join(ROOT, 'climate')

# Module prefix -> layer. The longest matching prefix wins.
LAYERS = {
    'climate': 'root',
    'climate.api': 'api',
    'climate.manager': 'manager',
    # The API's only way into the manager: RPC client stubs, no manager internals.
    'climate.manager.rpcapi': 'rpcapi',
    'climate.plugins': 'plugins',
    'climate.compute': 'compute',
    'climate.db': 'db',
    'climate.common': 'common',
    # Shared top-level modules, at the level of climate.common.
    'climate.exceptions': 'common',
    'climate.context': 'common',
    'climate.rpc': 'common',
    # Shared too, and also the only server module the client and the CLI may use.
    'climate.version': 'version',
    'climate.conf': 'conf',
    'climate.policies': 'policies',
    'climate.scheduler': 'scheduler',
    'climate.client': 'client',
    'climate.cli': 'cli',
    'climate.cmd': 'cmd',
    # The oslo-config-generator entry point: every option is declared in climate.conf
    # (plugins' options included), so that is all it reads.
    'climate.opts': 'opts',
}

# What any server layer may import.
SHARED = {'common', 'version', 'conf', 'policies'}

# Layer -> the other layers it may import.
MAY_IMPORT = {
    'root': set(),
    'api': {'rpcapi'} | SHARED,
    'rpcapi': SHARED,
    'manager': {'rpcapi', 'plugins', 'compute', 'db'} | SHARED,
    'plugins': {'compute', 'db'} | SHARED,
    'compute': SHARED,
    'db': SHARED,
    # The bottom layer; climate.common.service registers every option on start-up.
    'common': {'version', 'conf'},
    'version': set(),
    'conf': {'common'},
    'policies': {'common'},
    # The Nova filter runs inside nova-scheduler, where the server is not installed.
    'scheduler': set(),
    # The client and the CLI ship without the server.
    'client': {'version'},
    'cli': {'client', 'version'},
    'opts': {'conf'},
    # Console commands wire everything together.
    'cmd': set(LAYERS.values()),
}


def layer_of(module):
    """The layer of a ``climate`` module name; None if ``LAYERS`` does not place it."""
    if module == 'climate':
        return 'root'
    parts = module.split('.')
    for end in range(len(parts), 1, -1):
        prefix = '.'.join(parts[:end])
        if prefix in LAYERS:
            return LAYERS[prefix]
    return None


def is_module(name):
    """Whether a dotted ``climate`` name is a module or package in the source tree."""
    path = os.path.join(ROOT, *name.split('.'))
    return os.path.isfile(path + '.py') or os.path.isfile(
        os.path.join(path, '__init__.py'))


def imported_modules(source, module, is_package):
    """``(line, imported module)`` for every import in ``source``, at any depth.

    ``module`` is the importing module's dotted name. ``from x import y`` counts as an
    import of ``x.y`` when that is a module, else of ``x``. Relative imports are
    resolved against the importing module's package.
    """
    package = module if is_package else module.rpartition('.')[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                if node.level > 1:
                    base = base[:-(node.level - 1)]
                base = '.'.join(base + ([node.module] if node.module else []))
            else:
                base = node.module
            for alias in node.names:
                candidate = f'{base}.{alias.name}'
                found.append((node.lineno, candidate if is_module(candidate) else base))
    return sorted(found, key=lambda item: item[0])


def violations(source, module, is_package=False):
    """``importer -> imported (rule)`` for each import the layering forbids."""
    importer_layer = layer_of(module)
    problems = []
    for line, imported in imported_modules(source, module, is_package):
        if imported != 'climate' and not imported.startswith('climate.'):
            continue
        # Importing any submodule imports the package root; that edge is always fine.
        if imported == 'climate':
            continue
        imported_layer = layer_of(imported)
        if importer_layer is None or imported_layer is None:
            problems.append(f'{module} -> {imported} (a module without a layer: add it '
                            f'to LAYERS; line {line})')
        elif importer_layer == 'root':
            problems.append(f'{module} -> {imported} (the package root imports nothing '
                            f'of Climate; line {line})')
        elif imported_layer == importer_layer:
            continue
        elif imported_layer not in MAY_IMPORT[importer_layer]:
            problems.append(f'{module} -> {imported} ({importer_layer} must not import '
                            f'{imported_layer}; line {line})')
    return problems


def climate_modules():
    """``(path, dotted name, is_package)`` of every .py file under climate/."""
    for directory, subdirs, files in os.walk(PACKAGE_DIR):
        subdirs[:] = sorted(d for d in subdirs if d != '__pycache__')
        for name in sorted(files):
            if not name.endswith('.py'):
                continue
            path = os.path.join(directory, name)
            parts = os.path.relpath(path, ROOT)[:-len('.py')].split(os.sep)
            is_package = parts[-1] == '__init__'
            if is_package:
                parts.pop()
            yield path, '.'.join(parts), is_package


def _read(path):
    with open(path, encoding='utf-8') as source:
        return source.read()


def _rules():
    return '\n'.join(f'  {layer}: {", ".join(sorted(allowed)) or "nothing"}'
                     for layer, allowed in MAY_IMPORT.items())


def test_every_layer_in_the_table_has_rules():
    assert set(LAYERS.values()) == set(MAY_IMPORT)
    for allowed in MAY_IMPORT.values():
        assert allowed <= set(MAY_IMPORT)


def test_every_module_has_a_layer():
    unassigned = [name for _, name, _ in climate_modules() if layer_of(name) is None]
    assert not unassigned


def test_imports_follow_the_layering():
    problems, edges = [], 0
    for path, module, is_package in climate_modules():
        source = _read(path)
        edges += sum(1 for _, imported in imported_modules(source, module, is_package)
                     if imported.startswith('climate.'))
        problems.extend(violations(source, module, is_package))
    # A walker that finds nothing would pass; the tree has hundreds of such imports.
    assert edges > 200, edges
    assert not problems, (
        f'{len(problems)} import(s) break the layering:\n  ' + '\n  '.join(problems)
        + '\nEach layer may import its own modules and:\n' + _rules())


def test_the_package_root_imports_nothing_of_climate():
    source = _read(os.path.join(PACKAGE_DIR, '__init__.py'))
    imported = [name for _, name in imported_modules(source, 'climate', True)]
    assert not [name for name in imported if name.split('.')[0] == 'climate']


# The checker itself ---------------------------------------------------------------------
def test_an_import_inside_a_method_is_found():
    source = (
        'import os\n'
        'from climate.db import api\n'
        'class Service:\n'
        '    def run(self):\n'
        '        def later():\n'
        '            from climate.manager import service\n'
        '        import climate.plugins.loader\n'
    )
    assert violations(source, 'climate.db.leases') == [
        'climate.db.leases -> climate.manager.service (db must not import manager; '
        'line 6)',
        'climate.db.leases -> climate.plugins.loader (db must not import plugins; '
        'line 7)',
    ]


def test_from_imports_resolve_modules_names_and_relative_imports():
    source = (
        'from climate import exceptions, conf\n'
        'from climate.conf import CONF\n'
        'from .v1 import root\n'
        'from .. import manager\n'
        'from ..manager import rpcapi\n'
    )
    assert [name for _, name in imported_modules(source, 'climate.api.app', False)] == [
        'climate.exceptions', 'climate.conf', 'climate.conf', 'climate.api.v1.root',
        'climate.manager', 'climate.manager.rpcapi']
    assert violations(source, 'climate.api.app') == [
        'climate.api.app -> climate.manager (api must not import manager; line 4)']
    # In a package's __init__, "." is the package itself.
    assert imported_modules('from . import base\n', 'climate.policies', True) == [
        (1, 'climate.policies.base')]


def test_the_rules_the_refactor_heads_for():
    def allowed(importer, imported):
        return not violations(f'import {imported}\n', importer)

    assert allowed('climate.api.hooks', 'climate.manager.rpcapi')
    assert not allowed('climate.api.hooks', 'climate.manager.service')
    assert not allowed('climate.api.hooks', 'climate.db.api')
    assert not allowed('climate.api.hooks', 'climate.compute.base')
    assert allowed('climate.manager.service', 'climate.plugins.base')
    assert not allowed('climate.plugins.base', 'climate.manager.service')
    assert allowed('climate.plugins.dummy', 'climate.compute.base')
    assert not allowed('climate.compute.nova', 'climate.db.api')
    assert not allowed('climate.db.api', 'climate.compute.base')
    assert allowed('climate.db.leases', 'climate.common.states')
    assert not allowed('climate.common.states', 'climate.db.api')
    assert not allowed('climate.scheduler.filter', 'climate.conf')
    assert allowed('climate.client.api', 'climate.version')
    assert not allowed('climate.client.api', 'climate.exceptions')
    assert not allowed('climate.client.nova', 'climate.compute.nova')
    assert allowed('climate.cli.shell', 'climate.client.api')
    assert not allowed('climate.cli.shell', 'climate.conf')
    assert allowed('climate.cmd.api', 'climate.manager.service')
    assert not allowed('climate.opts', 'climate.plugins.dummy')
    assert not allowed('climate', 'climate.version')
    # A new top-level module must be given a layer before anything may import it.
    assert not allowed('climate.cmd.api', 'climate.newthing')
    assert layer_of('climate.newthing') is None
