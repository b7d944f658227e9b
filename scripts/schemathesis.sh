#!/usr/bin/env bash
# Property-based API testing: schemathesis (from PyPI) generates requests for every operation
# of /openapi.json of a running `vbank serve` (SQLite, in-process sandbox) and checks every
# answer: no 5xx, status codes, content types, headers and bodies as documented.
#
#   bash scripts/schemathesis.sh [EXAMPLES_PER_OPERATION] [MIN_REQUESTS]
#
# CI runs the defaults (60 examples per operation, at least 1,000 requests, a fixed seed).
# A longer run with a fresh seed: VBANK_SCHEMATHESIS_SEED=$RANDOM bash scripts/schemathesis.sh 1000 0
set -euo pipefail
cd "$(dirname "$0")/.."

examples=${1:-60}
min_requests=${2:-1000}
seed=${VBANK_SCHEMATHESIS_SEED:-20261124}
tools=${VBANK_TOOLS_DIR:-$PWD/target/tools}
venv=$tools/schemathesis-3.39.16
# schemathesis 3.39 breaks with hypothesis >= 6.170 ('many' object has no attribute 'more').
if [ ! -x "$venv/bin/st" ]; then
  echo "installing schemathesis 3.39.16 into $venv (once)"
  python3 -m venv "$venv" || { echo "python3 -m venv failed: install Python 3.9+ with venv (apt-get install python3-venv)"; exit 1; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check schemathesis==3.39.16 hypothesis==6.115.0
fi

cargo build --quiet -p vbank-server --bin vbank
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A short PG timeout: generated requests may arm the sandbox's timeout faults.
./target/debug/vbank serve --addr 127.0.0.1:0 --database-url "sqlite://$work/vbank.db" --pg-timeout 2s \
  >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 1 100); do grep -q "vbank listening on" "$work/serve.out" && break; sleep 0.1; done
url=$(sed -n 's/^vbank listening on //p' "$work/serve.out")
[ -n "$url" ] || { echo "vbank serve did not start:"; cat "$work/serve.err"; exit 1; }
imp_key=$(awk '/imp_key:/ {print $2}' "$work/serve.out")
imp_secret=$(awk '/imp_secret:/ {print $2}' "$work/serve.out")
token=$(curl -sf -X POST "$url/users/getToken" -H 'content-type: application/json' \
  -d "{\"imp_key\":\"$imp_key\",\"imp_secret\":\"$imp_secret\"}" | sed 's/.*"access_token":"\([0-9a-f]*\)".*/\1/')
[ -n "$token" ] || { echo "no token from $url/users/getToken"; exit 1; }

echo "schemathesis against $url: $examples examples per operation, seed $seed"
set +e
# Security parameters are given, not generated: a generated token header is mostly bytes
# HTTP forbids in a header, which the HTTP parser refuses before any handler runs.
"$venv/bin/st" run "$url/openapi.json" \
  --experimental=openapi-3.1 \
  -H "Authorization: Bearer $token" \
  --generation-with-security-parameters false \
  --checks all \
  --hypothesis-max-examples "$examples" \
  --hypothesis-seed "$seed" \
  --hypothesis-suppress-health-check=filter_too_much,too_slow \
  --sanitize-output false \
  --no-color ${VBANK_SCHEMATHESIS_ARGS:-} | tee "$work/st.out"
status=${PIPESTATUS[0]}
set -e

requests=$(awk '$1 == "not_a_server_error" {print $4; exit}' "$work/st.out")
if grep -q "panicked" "$work/serve.err"; then
  echo "FAIL: the server panicked:"; grep -A5 "panicked" "$work/serve.err"; exit 1
fi
if [ "$status" != 0 ]; then
  echo "FAIL: schemathesis found answers that break the schema or the server (above); replay with VBANK_SCHEMATHESIS_SEED=$seed"
  exit 1
fi
if [ -z "$requests" ] || [ "$requests" -lt "$min_requests" ]; then
  echo "FAIL: schemathesis made ${requests:-no} requests; at least $min_requests are required"
  exit 1
fi
echo "schemathesis: $requests generated requests, no 5xx, every answer as documented"
