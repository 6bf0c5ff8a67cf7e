#!/usr/bin/env bash
# Run every test of puente. Installs what the tests need when it is missing, starts the
# servers they need on free ports, and stops them afterwards.
#
# Today the suite needs nothing beyond Rust: the in-memory store and the HTTP server run
# inside the test processes, each on a port the OS picks. When the Redis and browser tests
# arrive, their installs (`apt-get update` once, then redis-server, chromium,
# chromium-driver) go here.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --locked --all-targets
cargo test --locked --doc
# Training and evaluating the language identifier takes seconds optimised, minutes not:
# these run in release (in debug builds they are marked ignored).
cargo test --locked --release --test lid_eval
