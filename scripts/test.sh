#!/usr/bin/env bash
# Run every test of puente. Installs what the tests need when it is missing (redis-server,
# from Debian's packages), starts a Redis server on a free port for the tests, and stops
# it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_updated=no
need() { # need COMMAND PACKAGE: install PACKAGE if COMMAND is missing
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "scripts/test.sh: $1 is missing; install the Debian package $2 (as root)" >&2
        exit 1
    fi
    if [ "$apt_updated" = no ]; then
        apt-get update -qq
        apt_updated=yes
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need redis-server redis-server

workdir=$(mktemp -d)
redis_pid=
cleanup() {
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
    rm -rf "$workdir"
}
trap cleanup EXIT

# A free port: try random ones until a server starts (a taken port makes it exit at once).
start_redis() {
    for _ in $(seq 20); do
        port=$((20000 + RANDOM % 40000))
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$workdir" >"$workdir/redis.log" 2>&1 &
        redis_pid=$!
        for _ in $(seq 50); do
            if redis-cli -p "$port" ping >/dev/null 2>&1; then return 0; fi
            kill -0 "$redis_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill "$redis_pid" 2>/dev/null || true
        redis_pid=
    done
    echo "scripts/test.sh: could not start redis-server" >&2
    cat "$workdir/redis.log" >&2
    exit 1
}
start_redis
export PUENTE_TEST_REDIS_URL="redis://127.0.0.1:$port/0"

cargo test --locked --all-targets
cargo test --locked --doc
# Training and evaluating the language identifier takes seconds optimised, minutes not:
# these run in release (in debug builds they are marked ignored).
cargo test --locked --release --test lid_eval
