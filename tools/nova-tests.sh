#!/usr/bin/env bash
# The scheduler filter's tests against the real Nova (tests/nova), in .venv-nova:
# Nova's options share the global cfg.CONF with whatever else the process loads, so
# they do not run in .venv with the main suite. Sets up .venv-nova (Climate, Nova from
# optional-requirements.txt, all pinned by upper-constraints.txt; reinstalled only when
# those files change), then runs pytest (arguments pass through; tests/nova is added
# when no argument names a path in it). tools/run-tests.sh calls this after the main
# suite.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CLIMATE_VENV=${CLIMATE_NOVA_VENV:-$ROOT/.venv-nova}
"$ROOT/tools/venv.sh" "$ROOT/optional-requirements.txt" "$ROOT/test-requirements.txt"
cd "$ROOT"
case " $* " in *" tests/nova"*) ;; *) set -- "$@" tests/nova ;; esac
# --confcutdir: tests/conftest.py loads climate.conf, whose options collide with Nova's.
CLIMATE_NOVA_TESTS=1 exec "$CLIMATE_VENV/bin/python" -m pytest --confcutdir=tests/nova "$@"
