#!/usr/bin/env bash
# The whole test suite: sets up .venv, then runs pytest (arguments pass through).
# Database and broker tests run on SQLite and on every real backend they can reach;
# The integration tier (tests/integration) installs and starts real OpenStack services
# itself (tests/integration/openstack_lite; `-m 'not integration'` leaves it out).
# CLIMATE_TEST_REQUIRE_BACKENDS=all (set by .ci/run) makes a missing backend fail,
# the OpenStack environment included.
# Then the scheduler filter's tests run against the real Nova in .venv-nova
# (tools/nova-tests.sh). Paths choose the runs: tests/nova… goes to the Nova run, other
# tests/… paths to the main run, options to both; with no path, both run. The exit
# status is non-zero when either run fails.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/tools/venv.sh" "$ROOT/test-requirements.txt"
cd "$ROOT"

options=() main_paths=() nova_paths=()
for arg in "$@"; do
    path=${arg#"$ROOT"/}
    path=${path#./}
    case "$path" in
        tests/nova | tests/nova/* | tests/nova::*) nova_paths+=("$path") ;;
        tests | tests/) main_paths+=("$path"); nova_paths+=(tests/nova) ;;
        tests/*) main_paths+=("$path") ;;
        *) options+=("$arg") ;;
    esac
done
run_main=$(( ${#main_paths[@]} > 0 || ${#nova_paths[@]} == 0 ))
run_nova=$(( ${#nova_paths[@]} > 0 || ${#main_paths[@]} == 0 ))

main_rc=0 nova_rc=0
if [ "$run_main" = 1 ]; then
    "${CLIMATE_VENV:-$ROOT/.venv}/bin/python" -m pytest "${options[@]}" "${main_paths[@]}" \
        || main_rc=$?
fi
if [ "$run_nova" = 1 ]; then
    echo "=== ClimateFilter against the real Nova (.venv-nova, tools/nova-tests.sh) ==="
    "$ROOT/tools/nova-tests.sh" "${options[@]}" "${nova_paths[@]}" || nova_rc=$?
fi
# pytest exits 5 when it collected nothing: fine for one run if the other passed
# (e.g. -k matching tests of one run only).
if [ "$run_main" = 1 ] && [ "$run_nova" = 1 ]; then
    [ "$main_rc" != 5 ] || [ "$nova_rc" != 0 ] || main_rc=0
    [ "$nova_rc" != 5 ] || [ "$main_rc" != 0 ] || nova_rc=0
fi
[ "$main_rc" = 0 ] || exit "$main_rc"
exit "$nova_rc"
