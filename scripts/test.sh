#!/usr/bin/env bash
# Run every test of puente. Installs what the tests need when it is missing (redis-server,
# chromium and chromium-driver, from Debian's packages), starts a Redis server and a three-master Redis Cluster on free
# ports for the tests, and stops them afterwards.
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
need chromium chromium          # the consoles' browser tests (tests/browser.rs)
need chromedriver chromium-driver

workdir=$(mktemp -d)
redis_pid=
cluster_pids=()
cleanup() {
    for pid in $redis_pid "${cluster_pids[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    rm -rf "$workdir"
    return 0
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

# A three-master Redis Cluster (each node also needs its bus port, +10000, free).
start_cluster() {
    local nodes=() urls=()
    for _ in $(seq 3); do
        local started=no
        for _ in $(seq 20); do
            local p=$((20000 + RANDOM % 25000))
            mkdir -p "$workdir/cluster-$p"
            redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
                --cluster-config-file nodes.conf --save '' --appendonly no \
                --dir "$workdir/cluster-$p" >"$workdir/cluster-$p/log" 2>&1 &
            local pid=$!
            for _ in $(seq 50); do
                if redis-cli -p "$p" ping >/dev/null 2>&1; then started=yes; break; fi
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            if [ "$started" = yes ]; then
                cluster_pids+=("$pid"); nodes+=("127.0.0.1:$p"); urls+=("redis://127.0.0.1:$p")
                break
            fi
            kill "$pid" 2>/dev/null || true
        done
        [ "$started" = yes ] || { echo "scripts/test.sh: could not start a cluster node" >&2; exit 1; }
    done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$workdir/cluster.log" 2>&1
    for _ in $(seq 100); do
        local ok=yes
        for n in "${nodes[@]}"; do
            redis-cli -p "${n##*:}" cluster info 2>/dev/null | grep -q cluster_state:ok || ok=no
        done
        [ "$ok" = yes ] && break
        sleep 0.2
    done
    PUENTE_TEST_REDIS_CLUSTER_URL=$(IFS=,; echo "${urls[*]}")
    export PUENTE_TEST_REDIS_CLUSTER_URL
}
start_cluster

cargo test --locked --all-targets
cargo test --locked --doc
# Training and evaluating the language identifier takes seconds optimised, minutes not:
# these run in release (in debug builds they are marked ignored).
cargo test --locked --release --test lid_eval
