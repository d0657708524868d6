#!/usr/bin/env bash
# Lint: ruff with the rules in pyproject.toml ([tool.ruff]), from .venv (the same
# check as tox -e pep8, without tox). Arguments pass through to `ruff check`
# (e.g. --fix); with none, the whole tree is checked. .ci/run runs this before the tests.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${CLIMATE_VENV:-$ROOT/.venv}
# ruff is pinned in test-requirements.txt and upper-constraints.txt (a no-op when
# .venv is current, as after tools/run-tests.sh).
"$ROOT/tools/venv.sh" "$ROOT/test-requirements.txt"
cd "$ROOT"
exec "$VENV/bin/ruff" check "$@"
