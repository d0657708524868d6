#!/usr/bin/env bash
# Creates (or refreshes) .venv with Climate and its pinned dependencies.
# Usage: tools/venv.sh [EXTRA_REQUIREMENTS_FILE ...]   (sourced by the other tools)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
VENV=${CLIMATE_VENV:-$ROOT/.venv}

"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "Climate needs Python 3.11+"'
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"

# Reinstall only when a requirements file changed since the last install.
stamp="$VENV/.climate-installed"
files=("$ROOT/requirements.txt" "$ROOT/upper-constraints.txt" "$ROOT/setup.cfg" "$@")
digest=$(cat "${files[@]}" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    reqs=(-r "$ROOT/requirements.txt")
    for extra in "$@"; do reqs+=(-r "$extra"); done
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -c "$ROOT/upper-constraints.txt" "${reqs[@]}" -e "$ROOT"
    echo "$digest" > "$stamp"
fi
