"""Climate's version, from the installed package metadata (pbr)."""

from importlib import metadata


def version_string():
    try:
        return metadata.version('climate')
    except metadata.PackageNotFoundError:
        return 'unknown'
