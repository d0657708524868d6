#!/usr/bin/env bash
# Regenerates etc/climate.conf.sample with the pinned libraries (same as tox -e genconfig).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/tools/venv.sh"
cd "$ROOT"
exec "${CLIMATE_VENV:-$ROOT/.venv}/bin/oslo-config-generator" \
    --config-file etc/climate-config-generator.conf
