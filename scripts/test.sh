#!/usr/bin/env bash
# Runs every test of the workspace (unit, property and integration tests; the integration
# tests start real servers on loopback ports).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo fmt --all -- --check
cargo test --workspace --no-fail-fast
