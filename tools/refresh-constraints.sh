#!/usr/bin/env bash
# Re-resolves every dependency to its newest release in a scratch venv and rewrites
# upper-constraints.txt. Regenerate the sample config afterwards (tools/genconfig.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install --quiet -r "$ROOT/requirements.txt" \
    -r "$ROOT/test-requirements.txt" -r "$ROOT/optional-requirements.txt" \
    -r "$ROOT/doc/requirements.txt"
{
    head -3 "$ROOT/upper-constraints.txt"
    "$scratch/venv/bin/pip" freeze | grep -v -i -E '^(-e |climate==)'
} > "$ROOT/upper-constraints.txt.new"
mv "$ROOT/upper-constraints.txt.new" "$ROOT/upper-constraints.txt"
