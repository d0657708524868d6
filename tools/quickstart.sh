#!/usr/bin/env bash
# The embedded quickstart: sets up .venv (Climate, and Blazar's clients from
# quickstart-requirements.txt), writes state/climate.conf (SQLite, API and manager in
# one process, in-memory compute, no authentication), creates the database and runs
# climate-all-in-one: the API on http://127.0.0.1:1234/v1 and the manager in one process.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/tools/venv.sh" "$ROOT/quickstart-requirements.txt"
VENV=${CLIMATE_VENV:-$ROOT/.venv}
STATE=${CLIMATE_STATE:-$ROOT/state}
mkdir -p "$STATE"
CONF="$STATE/climate.conf"
if [ ! -f "$CONF" ]; then
    cat > "$CONF" <<CONFEOF
[DEFAULT]
state_path = $STATE
# No Keystone: the API trusts X-User-Id/X-Project-Id/X-Roles (defaults: an admin of
# project noauth-project) and listens on 127.0.0.1 only.
auth_strategy = noauth
host = 127.0.0.1
port = ${CLIMATE_PORT:-1234}

[database]
connection = sqlite:///$STATE/climate.sqlite

[compute]
driver = memory

[manager]
# Resource plugins (entry points in climate.resource.plugins).
plugins = physical.host.plugin,virtual.instance.plugin,flavor.instance.plugin,dummy.plugin

[oslo_messaging_notifications]
driver = noop
CONFEOF
    echo "quickstart: wrote $CONF"
fi
"$VENV/bin/climate-db-manage" --config-file "$CONF" upgrade head
PORT=$(sed -n 's/^port = //p' "$CONF")
echo "quickstart: starting climate-all-in-one; in another shell, try:"
echo "  source $VENV/bin/activate"
echo "  export OS_AUTH_TYPE=none OS_ENDPOINT=http://127.0.0.1:${PORT:-1234}/v1"
echo "  export OS_COMPUTE_ENDPOINT_OVERRIDE=http://127.0.0.1:${PORT:-1234}/compute/v2.1"
echo "  climate lease list"
exec "$VENV/bin/climate-all-in-one" --config-file "$CONF"
