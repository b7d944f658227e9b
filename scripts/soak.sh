#!/usr/bin/env bash
# The soak test (issue 8; not in CI's default path): a steady mixed load (issue, lookup,
# revoke, deposit) against `vbank serve` for 10 minutes, failing on any error or on
# memory that keeps growing. Its figures go into docs/benchmarks.md.
# Usage: scripts/soak.sh [SECONDS, default 600] [--database-url postgres://...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
cargo run --release -p vbank-bench -- --soak "$seconds" --concurrency 32 --payments 100000 "$@"
