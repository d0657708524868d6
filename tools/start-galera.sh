#!/usr/bin/env bash
# Starts (or finds running) a 3-node MariaDB Galera cluster on 127.0.0.1 for the
# tests' `galera` backend: three separate mariadbd processes with their own data
# directories, configuration files, sockets and ports, apart from the ordinary
# MariaDB on 3306 (nothing under /etc/mysql or /run/mysqld is read or touched).
#
#   tools/start-galera.sh          start the missing nodes, wait for a synced cluster
#   tools/start-galera.sh stop     stop the nodes this script started
#
# Environment (defaults in brackets):
#   CLIMATE_GALERA_DIR         data, configuration and logs [/var/lib/climate-galera]
#   CLIMATE_GALERA_SQL_PORTS   the nodes' SQL ports [4306 4307 4308]
#   CLIMATE_GALERA_GCOMM_PORTS their group-communication ports [4567 4577 4587];
#                              IST uses port+1 and the rsync SST port+2
#   CLIMATE_GALERA_TIMEOUT     seconds each node may take to be synced [240]
# Root may connect without a password over TCP to 127.0.0.1 on every node.
# Exits non-zero, with the reason and the tail of the node's error log, when the
# cluster cannot be formed (galera-4 and rsync are installed with apt-get if missing).
set -uo pipefail

BASE=${CLIMATE_GALERA_DIR:-/var/lib/climate-galera}
read -r -a SQL_PORTS <<<"${CLIMATE_GALERA_SQL_PORTS:-4306 4307 4308}"
read -r -a GCOMM_PORTS <<<"${CLIMATE_GALERA_GCOMM_PORTS:-4567 4577 4587}"
TIMEOUT=${CLIMATE_GALERA_TIMEOUT:-240}
PROVIDER=/usr/lib/galera/libgalera_smm.so
NODES=(1 2 3)

say() { echo "start-galera: $*"; }
fail() { echo "start-galera: FAILED: $*" >&2; exit 1; }

if [ "${#SQL_PORTS[@]}" -ne 3 ] || [ "${#GCOMM_PORTS[@]}" -ne 3 ]; then
    fail "CLIMATE_GALERA_SQL_PORTS and CLIMATE_GALERA_GCOMM_PORTS need 3 ports each"
fi

dir() { echo "$BASE/node$1"; }
sql_port() { echo "${SQL_PORTS[$1 - 1]}"; }
gcomm_port() { echo "${GCOMM_PORTS[$1 - 1]}"; }
socket() { echo "$(dir "$1")/mysqld.sock"; }
pidfile() { echo "$(dir "$1")/mysqld.pid"; }
errlog() { echo "$(dir "$1")/error.log"; }

# SQL on one node through its socket (root@localhost exists in every data directory).
q() {
    local node=$1; shift
    mariadb --no-defaults --socket="$(socket "$node")" -uroot --connect-timeout=3 \
        -N -B -e "$*" 2>/dev/null
}
status() { q "$1" "SHOW GLOBAL STATUS LIKE '$2'" | cut -f2; }
# A pidfile outlives its process (a machine restarted, a node killed) and its number
# may since belong to anything else: the process counts as the node only when it is
# a mariadbd started with that node's configuration file.
running() {
    local pid
    pid=$(cat "$(pidfile "$1")" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null |
        grep -qxF -- "--defaults-file=$(dir "$1")/my.cnf"
}
synced() {
    [ "$(status "$1" wsrep_ready)" = ON ] &&
        [ "$(status "$1" wsrep_local_state_comment)" = Synced ] &&
        [ "$(status "$1" wsrep_cluster_size)" = 3 ]
}
explain() {
    echo "start-galera: last lines of $(errlog "$1"):" >&2
    tail -n 25 "$(errlog "$1")" >&2 2>/dev/null || true
}

stop_node() {
    local pid
    pid=$(cat "$(pidfile "$1")")
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || return 0; sleep 1; done
    kill -9 "$pid" 2>/dev/null
}

stop_nodes() {
    local node
    for node in "${NODES[@]}"; do
        running "$node" || continue
        say "stopping node $node (pid $(cat "$(pidfile "$node")"))"
        stop_node "$node"
    done
}

if [ "${1:-}" = stop ]; then stop_nodes; exit 0; fi

all_synced=1
for node in "${NODES[@]}"; do
    synced "$node" || all_synced=0
done
if [ $all_synced -eq 1 ]; then
    say "cluster of 3 is up and synced on ports ${SQL_PORTS[*]}"
    exit 0
fi

# Prerequisites ----------------------------------------------------------------------
[ "$(id -u)" = 0 ] || fail "run as root to start the cluster (it runs as user mysql)"
mkdir -p "$BASE"
missing=()
[ -e "$PROVIDER" ] || missing+=(galera-4)
command -v rsync >/dev/null || missing+=(rsync)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    if ! { apt-get update && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y "${missing[@]}"; } >"$BASE/apt.log" 2>&1; then
        tail -n 20 "$BASE/apt.log" >&2
        fail "could not install ${missing[*]} with apt-get (see $BASE/apt.log)"
    fi
fi
[ -e "$PROVIDER" ] || fail "$PROVIDER is missing after installing galera-4"
for tool in mariadbd mariadb mariadb-install-db wsrep_sst_rsync; do
    command -v "$tool" >/dev/null || fail "$tool not found (is mariadb-server installed?)"
done
id mysql >/dev/null 2>&1 || fail "no mysql user (is mariadb-server installed?)"

# Configuration ----------------------------------------------------------------------
cluster_address=gcomm://
for node in "${NODES[@]}"; do
    cluster_address+="127.0.0.1:$(gcomm_port "$node"),"
done
cluster_address=${cluster_address%,}

write_config() {
    local node=$1 gcomm
    gcomm=$(gcomm_port "$node")
    mkdir -p "$(dir "$node")/data"
    cat >"$(dir "$node")/my.cnf" <<EOF
[mysqld]
user = mysql
datadir = $(dir "$node")/data
socket = $(socket "$node")
pid-file = $(pidfile "$node")
log-error = $(errlog "$node")
port = $(sql_port "$node")
bind-address = 127.0.0.1
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
performance_schema = OFF
innodb_buffer_pool_size = 64M
innodb_log_file_size = 32M
# A throw-away test cluster: durability is Galera's (three copies), not the disk's.
innodb_flush_log_at_trx_commit = 0
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
wsrep_on = ON
wsrep_provider = $PROVIDER
wsrep_cluster_name = climate-test
wsrep_cluster_address = $cluster_address
wsrep_node_name = node$node
wsrep_node_address = 127.0.0.1:$gcomm
wsrep_node_incoming_address = 127.0.0.1:$(sql_port "$node")
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:$((gcomm + 2))
wsrep_provider_options = "gmcast.listen_addr=tcp://127.0.0.1:$gcomm;ist.recv_addr=127.0.0.1:$((gcomm + 1));gcache.size=32M;gcache.page_size=16M"
EOF
}

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_node() {
    local node=$1; shift
    local port
    for port in "$(sql_port "$node")" "$(gcomm_port "$node")"; do
        if port_taken "$port"; then
            fail "port $port (node $node) is used by another process"
        fi
    done
    say "starting node $node on port $(sql_port "$node") $*"
    : >"$(errlog "$node")"
    rm -f "$(pidfile "$node")"
    chown -R mysql:mysql "$(dir "$node")"
    detached "$(errlog "$node")" mariadbd --defaults-file="$(dir "$node")/my.cnf" "$@"
}

# Runs a command in the background in its own session, output appended to $1, with
# only stdin, stdout and stderr open: the node outlives this script, and would
# otherwise hold whatever the caller left open (a lock file taken with flock, say)
# for as long as it runs.
detached() {
    local log=$1; shift
    (
        for fd in /proc/"$BASHPID"/fd/*; do
            fd=${fd##*/}
            if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi 2>/dev/null
        done
        exec setsid "$@" </dev/null >>"$log" 2>&1
    ) &
}

wait_synced() {
    local node=$1 size=$2 deadline=$((SECONDS + TIMEOUT))
    while [ $SECONDS -lt $deadline ]; do
        if ! running "$node" && [ $((SECONDS + TIMEOUT - deadline)) -gt 10 ]; then
            explain "$node"
            fail "node $node exited while starting"
        fi
        if [ "$(status "$node" wsrep_ready)" = ON ] &&
            [ "$(status "$node" wsrep_local_state_comment)" = Synced ] &&
            [ "$(status "$node" wsrep_cluster_size)" -ge "$size" ] 2>/dev/null; then
            return 0
        fi
        sleep 1
    done
    explain "$node"
    fail "node $node not synced in a cluster of $size after ${TIMEOUT}s"
}

for node in "${NODES[@]}"; do write_config "$node"; done


up=0
for node in "${NODES[@]}"; do
    if running "$node"; then
        # A node left out of the primary component (say, after a failed join) does
        # not come back by itself: it is restarted.
        for _ in $(seq 1 20); do
            [ "$(status "$node" wsrep_local_state_comment)" = Synced ] && break
            sleep 1
        done
        if [ "$(status "$node" wsrep_local_state_comment)" = Synced ]; then
            up=$((up + 1))
        else
            say "node $node is running but not synced; restarting it"
            stop_node "$node"
        fi
    elif port_taken "$(sql_port "$node")"; then
        fail "port $(sql_port "$node") answers but is not node $node of $BASE"
    fi
done

if [ $up -eq 0 ]; then
    # Bootstrap a new cluster from node 1 (its data, if any, is the cluster's).
    if [ ! -d "$(dir 1)/data/mysql" ]; then
        say "initialising $(dir 1)/data"
        chown -R mysql:mysql "$(dir 1)"
        mariadb-install-db --defaults-file="$(dir 1)/my.cnf" \
            --auth-root-authentication-method=normal --skip-test-db \
            >"$(dir 1)/install.log" 2>&1 ||
            { cat "$(dir 1)/install.log" >&2; fail "mariadb-install-db failed"; }
    fi
    # After a shutdown of the whole cluster no node is marked safe to bootstrap;
    # node 1 is chosen to be, since the test cluster's content does not matter.
    if [ -f "$(dir 1)/data/grastate.dat" ]; then
        sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' "$(dir 1)/data/grastate.dat"
    fi
    start_node 1 --wsrep-new-cluster
    wait_synced 1 1
    q 1 "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
         GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" ||
        fail "could not create root@127.0.0.1 on node 1"
fi

# The others join the running ones. Without a saved state a joiner receives a full
# copy by rsync (a few megabytes): more robust than an incremental transfer from a
# donor's gcache, which a restarted donor may not have.
for node in "${NODES[@]}"; do
    running "$node" && continue
    rm -f "$(dir "$node")/data/grastate.dat"
    start_node "$node"
    wait_synced "$node" 2
done

for node in "${NODES[@]}"; do
    wait_synced "$node" 3
    if ! mariadb --no-defaults -h127.0.0.1 -P"$(sql_port "$node")" -uroot \
            --connect-timeout=5 -e 'SELECT 1' >/dev/null 2>&1; then
        fail "node $node does not accept root over TCP on 127.0.0.1:$(sql_port "$node")"
    fi
done
say "cluster of 3 is up and synced on ports ${SQL_PORTS[*]}"
