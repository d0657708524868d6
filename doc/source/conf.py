"""Sphinx configuration of Climate's documentation (no openstackdocstheme needed)."""

project = 'Climate'
copyright = 'The Climate developers'
extensions = [
    'myst_parser',                  # the Markdown pages (design.md)
    'oslo_config.sphinxext',        # .. show-options:: (configuration reference)
    'oslo_policy.sphinxext',        # .. show-policy:: (policy reference)
    'cliff.sphinxext',              # .. autoprogram-cliff:: (command reference)
    'reno.sphinxext',               # .. release-notes:: (from releasenotes/notes)
]
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
master_doc = 'index'
exclude_patterns = ['_build']
html_theme = 'alabaster'
html_static_path = []


# Two adjustments to oslo_config.sphinxext's generated reStructuredText, so the
# generated configuration reference builds without warnings:
# - it indents a group's help by two spaces under a directive whose options are indented
#   by three, which docutils 0.22 reads as extra directive arguments;
# - option help is plain text, where a word ending in "_" (such as the "blazar_" prefix)
#   would be a reStructuredText reference.
import re  # noqa: E402

from oslo_config import sphinxext as _oslo_config_ext  # noqa: E402

_TRAILING_UNDERSCORE = re.compile(r'(\w)_(?=[\s"\'.,;:)]|$)')
_format_group = _oslo_config_ext._format_group
_format_opt = _oslo_config_ext._format_opt


def _group_lines(namespace, group_name, group_obj):
    for line in _format_group(namespace, group_name, group_obj):
        yield ' ' + line if line.startswith('  ') and line[2] != ' ' else line


def _opt_lines(opt, group_name):
    for line in _format_opt(opt, group_name):
        text = line.strip()
        if text.startswith(('..', ':')) or '``' in text:
            yield line
        else:
            yield _TRAILING_UNDERSCORE.sub(r'\1\\_', line)


_oslo_config_ext._format_group = _group_lines
_oslo_config_ext._format_opt = _opt_lines
