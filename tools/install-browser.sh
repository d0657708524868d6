#!/usr/bin/env bash
# Installs Debian's Chromium for the calendar page's end-to-end test (Playwright drives
# it; tests/backends.py's ``browser``) when it is missing. CI requires that backend, so
# a machine without Chromium must get it here or fail loudly, not skip the test.
# CLIMATE_TEST_CHROMIUM names another executable (then nothing is installed).
set -euo pipefail
CHROMIUM=${CLIMATE_TEST_CHROMIUM:-/usr/bin/chromium}
say() { echo "install-browser: $*"; }
if [ -x "$CHROMIUM" ]; then
    say "Chromium is at $CHROMIUM"
    exit 0
fi
[ "$CHROMIUM" = /usr/bin/chromium ] || { say "FAILED: no Chromium at $CHROMIUM" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { say "FAILED: run as root to apt-get install chromium" >&2; exit 1; }
log=$(mktemp /tmp/install-browser.XXXXXX.log)
say "installing Debian's chromium (log: $log)"
if ! { apt-get update && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends chromium; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    say "FAILED: could not install chromium with apt-get (see $log)" >&2
    exit 1
fi
[ -x "$CHROMIUM" ] || { say "FAILED: $CHROMIUM is missing after installing chromium" >&2; exit 1; }
say "installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
