#!/usr/bin/env bash
# Starts MariaDB, PostgreSQL and RabbitMQ on 127.0.0.1 if they are down, and waits for
# them. Exits non-zero, naming the service, if one cannot be brought up: CI must not
# pass with a backend silently missing.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
    local name=$1 port=$2; shift 2
    if up "$port"; then echo "start-backends: $name is up on 127.0.0.1:$port"; return 0; fi
    echo "start-backends: $name is down; starting it"
    "$@" >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do
        if up "$port"; then echo "start-backends: $name started"; return 0; fi
        sleep 1
    done
    echo "start-backends: FAILED to start $name on 127.0.0.1:$port" >&2
    return 1
}

# shellcheck disable=SC2329  # called through start()
start_postgresql() {
    command -v pg_ctlcluster >/dev/null || return 1
    local version
    for version in /etc/postgresql/*/; do
        version=$(basename "$version")
        pg_ctlcluster --skip-systemctl-redirect "$version" main start && return 0
    done
    return 1
}

rc=0
start MariaDB 3306 start-stop-daemon --start --oknodo --background \
    --exec /usr/sbin/mariadbd || rc=1
start PostgreSQL 5432 start_postgresql || rc=1
start RabbitMQ 5672 rabbitmq-server -detached || rc=1
# RabbitMQ opens its port before it accepts AMQP logins; give it a moment to settle.
if [ $rc -eq 0 ] && command -v rabbitmqctl >/dev/null; then
    timeout 60 rabbitmqctl await_startup >/dev/null 2>&1 || true
fi
exit $rc
