#!/usr/bin/env bash
# Run puente on a local Redis with the durability settings a deployment needs, for trying
# several instances by hand:
#
#   scripts/run-with-redis.sh                                # Redis on 6379, puente on 8080
#   PUENTE_LISTEN=127.0.0.1:8081 scripts/run-with-redis.sh   # a second instance
#
# Redis keeps its data in ./.redis-data (append-only file, fsync every write). It is
# started only if nothing answers on the port yet, and left running afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PUENTE_REDIS_PORT:-6379}

if ! command -v redis-server >/dev/null; then
    echo "installing redis-server (Debian package)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
    mkdir -p .redis-data
    redis-server --port "$port" --bind 127.0.0.1 --dir "$PWD/.redis-data" \
        --appendonly yes --appendfsync always --save '' --maxmemory-policy noeviction \
        --daemonize yes --logfile "$PWD/.redis-data/redis.log"
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

export PUENTE_REDIS_URL="redis://127.0.0.1:$port/0"
# On Redis the README's demo tokens are refused (they would stay valid for anyone who read
# them): without tokens of your own, fresh ones are made and printed for this run.
random_token() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }
if [ -z "${PUENTE_OPERATOR_TOKENS:-}" ]; then
    PUENTE_OPERATOR_TOKENS=op-$(random_token)
    echo "operator token for this run: $PUENTE_OPERATOR_TOKENS" >&2
fi
if [ -z "${PUENTE_COORDINATOR_TOKENS:-}" ]; then
    PUENTE_COORDINATOR_TOKENS=co-$(random_token)
    echo "coordinator token for this run: $PUENTE_COORDINATOR_TOKENS" >&2
fi
export PUENTE_OPERATOR_TOKENS PUENTE_COORDINATOR_TOKENS
exec cargo run --release -- serve
