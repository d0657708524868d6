#!/usr/bin/env bash
# The whole test suite: sets up .venv, then runs pytest (arguments pass through).
# Database and broker tests run on SQLite and on every real backend they can reach;
# CLIMATE_TEST_REQUIRE_BACKENDS=all (set by .ci/run) makes a missing backend fail,
# the OpenStack environment included. Three runs, each only when a path (or no path)
# selects it, with the options (-m combined with each run's own selection):
# 1. everything but the integration tier and tests/nova; when it includes a directory
#    of the functional tier, on pytest-xdist workers (CLIMATE_TEST_WORKERS, default 3;
#    0 runs it in one process; your own -n or --dist wins; the requests of a gabbi
#    story stay on one worker, --dist loadgroup);
# 2. the integration tier (tests/integration, marker integration), which installs and
#    starts real OpenStack services itself on fixed ports: in one process, one test
#    at a time (`-m 'not integration'` leaves it out);
# 3. the scheduler filter's tests against the real Nova in .venv-nova
#    (tools/nova-tests.sh): tests/nova… paths.
# The exit status is non-zero when any run fails.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/tools/venv.sh" "$ROOT/test-requirements.txt"
cd "$ROOT"

options=() main_paths=() integration_paths=() nova_paths=() marker=''
next_is_marker=0
for arg in "$@"; do
    if [ "$next_is_marker" = 1 ]; then marker=$arg; next_is_marker=0; continue; fi
    path=${arg#"$ROOT"/}
    path=${path#./}
    case "$path" in
        -m) next_is_marker=1 ;;
        -m?*) marker=${path#-m} ;;
        tests/nova | tests/nova/* | tests/nova::*) nova_paths+=("$path") ;;
        tests | tests/) main_paths+=("$path"); integration_paths+=("$path")
                        nova_paths+=(tests/nova) ;;
        tests/integration | tests/integration/* | tests/integration::*)
            integration_paths+=("$path") ;;
        tests/*) main_paths+=("$path") ;;
        *) options+=("$arg") ;;
    esac
done
no_paths=$(( ${#main_paths[@]} + ${#integration_paths[@]} + ${#nova_paths[@]} == 0 ))
run_main=$(( ${#main_paths[@]} > 0 || no_paths ))
run_integration=$(( ${#integration_paths[@]} > 0 || no_paths ))
run_nova=$(( ${#nova_paths[@]} > 0 || no_paths ))
[ "$marker" != 'not integration' ] || run_integration=0

# -m VALUE: combined with each run's own selection.
both() { if [ -n "$marker" ]; then echo "($marker) and $1"; else echo "$1"; fi; }
nova_options=("${options[@]}")
[ -z "$marker" ] || nova_options+=(-m "$marker")
# Workers pay off for the functional tier, which mostly waits (servers, engines,
# databases); the unit tests, a file or a test start faster in one process.
xdist=()
for path in "${main_paths[@]:-tests}"; do
    case "$path" in
        tests | tests/ | tests/functional | tests/functional/) ;;
        tests/functional/*) [ -d "$path" ] || continue ;;
        *) continue ;;
    esac
    xdist=(-n "${CLIMATE_TEST_WORKERS:-3}" --dist loadgroup)
done
serial=(-n 0)
for arg in "${options[@]}"; do
    case "$arg" in
        -n | -n* | --numprocesses* | --dist*) xdist=() ;;
        no:xdist | -pno:xdist) xdist=() serial=() ;;
    esac
done
[ "${CLIMATE_TEST_WORKERS:-3}" != 0 ] || xdist=()
pytest=("${CLIMATE_VENV:-$ROOT/.venv}/bin/python" -m pytest)

rcs=()
if [ "$run_main" = 1 ]; then
    "${pytest[@]}" "${xdist[@]}" "${options[@]}" -m "$(both 'not integration')" \
        "${main_paths[@]}" && rcs+=(0) || rcs+=($?)
fi
if [ "$run_integration" = 1 ]; then
    echo "=== The integration tier (real OpenStack services, one test at a time) ==="
    "${pytest[@]}" "${options[@]}" "${serial[@]}" -m "$(both integration)" \
        "${integration_paths[@]:-tests/integration}" && rcs+=(0) || rcs+=($?)
fi
if [ "$run_nova" = 1 ]; then
    echo "=== ClimateFilter against the real Nova (.venv-nova, tools/nova-tests.sh) ==="
    "$ROOT/tools/nova-tests.sh" "${nova_options[@]}" "${nova_paths[@]}" \
        && rcs+=(0) || rcs+=($?)
fi
# pytest exits 5 when it collected nothing: fine for one run if another passed
# (e.g. -k matching tests of one run only). Otherwise the first failure's status.
status=5
for rc in "${rcs[@]}"; do
    case "$rc" in
        0) [ "$status" != 5 ] || status=0 ;;
        5) ;;
        *) [ "$status" = 0 ] || [ "$status" = 5 ] && status=$rc ;;
    esac
done
exit "$status"
