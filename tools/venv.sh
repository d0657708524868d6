#!/usr/bin/env bash
# Creates (or refreshes) .venv with Climate and its pinned dependencies.
# Usage: tools/venv.sh [EXTRA_REQUIREMENTS_FILE ...]   (sourced by the other tools)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
VENV=${CLIMATE_VENV:-$ROOT/.venv}

"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "Climate needs Python 3.11+"'
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"

# Reinstall only when a requirements file changed since the last install. The stamp
# keeps one line per set of extras installed over the same requirements and
# constraints (all pinned alike, so one install cannot undo another), so that the tools
# asking for different extras (quickstart, tests, docs) do not reinstall in turn.
stamp="$VENV/.climate-installed"
base=$(cat "$ROOT/requirements.txt" "$ROOT/upper-constraints.txt" "$ROOT/setup.cfg" \
       | sha256sum | cut -d' ' -f1)
extras=$(cat /dev/null "$@" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || ! grep -qx "$base $extras" "$stamp"; then
    reqs=(-r "$ROOT/requirements.txt")
    for extra in "$@"; do reqs+=(-r "$extra"); done
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -c "$ROOT/upper-constraints.txt" "${reqs[@]}" -e "$ROOT"
    { grep "^$base " "$stamp" 2>/dev/null || true; echo "$base $extras"; } > "$stamp.new"
    mv "$stamp.new" "$stamp"
fi
