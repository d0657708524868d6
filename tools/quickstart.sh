#!/usr/bin/env bash
# The embedded quickstart: sets up .venv, writes state/climate.conf (SQLite, in-process
# messaging, in-memory compute), creates the database and runs Climate in one process.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/tools/venv.sh"
VENV=${CLIMATE_VENV:-$ROOT/.venv}
STATE=${CLIMATE_STATE:-$ROOT/state}
mkdir -p "$STATE"
CONF="$STATE/climate.conf"
if [ ! -f "$CONF" ]; then
    cat > "$CONF" <<CONFEOF
[DEFAULT]
state_path = $STATE
transport_url = fake:///
host = 127.0.0.1

[database]
connection = sqlite:///$STATE/climate.sqlite

[compute]
driver = memory
CONFEOF
    echo "quickstart: wrote $CONF"
fi
"$VENV/bin/climate-db-manage" --config-file "$CONF" upgrade head
if [ -x "$VENV/bin/climate-all-in-one" ]; then
    exec "$VENV/bin/climate-all-in-one" --config-file "$CONF"
fi
echo "quickstart: database ready at $STATE/climate.sqlite (the API and manager arrive" \
     "with their issues; climate-all-in-one is not built yet)"
