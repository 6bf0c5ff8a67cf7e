#!/usr/bin/env bash
# The soak (benches/soak.rs): two instances on a local Redis at twice the roster's
# capacity, the invariants checked from the store every second. 5 minutes by default;
# SOAK_SECS=60 SOAK_RATE=20 scripts/soak.sh to change. Exits 1 on any violation.
exec "$(dirname "$0")/bench-redis.sh" soak
