#!/usr/bin/env bash
# The documentation and the release notes from .venv, without tox (same as tox -e docs
# and tox -e releasenotes): installs doc/requirements.txt into .venv when missing,
# checks the release notes (reno lint), then builds the HTML documentation with
# warnings as errors into doc/build/html (its release notes page is made from
# releasenotes/notes). Arguments pass through to sphinx-build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${CLIMATE_VENV:-$ROOT/.venv}
"$ROOT/tools/venv.sh" "$ROOT/doc/requirements.txt"
cd "$ROOT"
"$VENV/bin/reno" -q lint
"$VENV/bin/sphinx-build" -q -W --keep-going -b html -d doc/build/doctrees "$@" \
    doc/source doc/build/html
echo "docs: open $ROOT/doc/build/html/index.html"
