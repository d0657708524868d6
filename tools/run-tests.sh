#!/usr/bin/env bash
# The whole test suite: sets up .venv, then runs pytest (arguments pass through).
# Database and broker tests run on SQLite and on every real backend they can reach;
# The integration tier (tests/integration) installs and starts real OpenStack services
# itself (tests/integration/openstack_lite; `-m 'not integration'` leaves it out).
# CLIMATE_TEST_REQUIRE_BACKENDS=all (set by .ci/run) makes a missing backend fail,
# the OpenStack environment included.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/tools/venv.sh" "$ROOT/test-requirements.txt"
cd "$ROOT"
exec "${CLIMATE_VENV:-$ROOT/.venv}/bin/python" -m pytest "$@"
