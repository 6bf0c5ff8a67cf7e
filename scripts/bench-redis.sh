#!/usr/bin/env bash
# Benchmark two puente instances on one local Redis; prints one summary line.
# Starts redis-server (append-only file, fsync every second) on a free port and stops it.
# `scripts/bench-redis.sh soak` runs the soak instead (see scripts/soak.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-server >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
}
workdir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$workdir"' EXIT
for _ in $(seq 20); do
    port=$((20000 + RANDOM % 40000))
    redis-server --port "$port" --bind 127.0.0.1 --dir "$workdir" --save '' \
        --appendonly yes --appendfsync everysec >"$workdir/log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break 2; sleep 0.1; done
    kill "$pid" 2>/dev/null || true; pid=
done
[ -n "$pid" ] || { echo "could not start redis-server" >&2; exit 1; }
bench=${1:-redis}
PUENTE_BENCH_REDIS_URL="redis://127.0.0.1:$port/0" cargo bench --locked --bench "$bench" 2>/dev/null |
    grep -A5 -E '^(redis bench|soak):'
