#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets: each PG's notification parser, i'mport's JSON
# and form body parsers) for a fixed number of inputs; any panic fails. CI runs the
# default; for a long hunt: `bash scripts/fuzz.sh 0 600` (no run limit, 10 minutes each).
# Usage: scripts/fuzz.sh [RUNS per target, default 100000] [SECONDS per target, default none]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-100000}
seconds=${2:-0}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz (once per machine)"
  cargo install cargo-fuzz --locked
fi
# libFuzzer's coverage instrumentation works on stable; the sanitizers need nightly.
flags=(--sanitizer none -O)
echo "== building the fuzz targets"
cargo fuzz build "${flags[@]}"
targets=$(cargo fuzz list)
total=$(echo "$targets" | wc -l)
n=0
for target in $targets; do
  n=$((n + 1))
  mkdir -p "fuzz/corpus/$target"
  printf '== [%d/%d] %s: ' "$n" "$total" "$target"
  args=(-runs="$runs")
  [ "$seconds" != 0 ] && args+=(-max_total_time="$seconds")
  if ! output=$(cargo fuzz run "${flags[@]}" "$target" "fuzz/corpus/$target" -- "${args[@]}" 2>&1); then
    echo "FAILED"
    echo "$output" | tail -40
    echo "A crashing input is saved under fuzz/artifacts/$target; replay it with"
    echo "  cargo fuzz run ${flags[*]} $target fuzz/artifacts/$target/<file>"
    exit 1
  fi
  echo "$output" | grep -E '^Done' || echo "done"
done
