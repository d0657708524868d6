#!/usr/bin/env bash
# Regenerates etc/climate.conf.sample, and etc/nova-climate-filter.conf.sample (the
# [climate] section of nova.conf read by ClimateFilter), with the pinned libraries
# (same as tox -e genconfig), and etc/policy.yaml.sample (the default policy).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/tools/venv.sh"
cd "$ROOT"
for generator in etc/climate-config-generator.conf \
                 etc/nova-climate-filter-config-generator.conf; do
    "${CLIMATE_VENV:-$ROOT/.venv}/bin/oslo-config-generator" --config-file "$generator"
done
"${CLIMATE_VENV:-$ROOT/.venv}/bin/oslopolicy-sample-generator" \
    --config-file etc/climate-policy-generator.conf
