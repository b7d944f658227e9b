#!/usr/bin/env bash
# The test suite: the whole workspace on the embedded default (SQLite), then the
# server's integration suite again on PostgreSQL (each test gets its own database).
# Without a PostgreSQL server the second pass is skipped, and this says so; with
# VBANK_REQUIRE_POSTGRES=1 (as in CI) that is a failure instead. Last, the end-to-end
# tests in headless Chromium (e2e/: the console, Swagger UI, OpenAPI 3.1 validation);
# without Chromium they are skipped locally and fail under CI (CI=true or
# VBANK_REQUIRE_POSTGRES=1).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== tests on SQLite"
cargo test --workspace

pg_url=${VBANK_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
hostport=${pg_url#*@}
hostport=${hostport%%/*}
host=${hostport%%:*}
port=${hostport##*:}
[ "$port" = "$hostport" ] && port=5432
if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
  echo "== tests on PostgreSQL ($host:$port)"
  VBANK_TEST_DATABASE=postgres VBANK_TEST_POSTGRES_URL="$pg_url" cargo test -p vbank-server -- --include-ignored
elif [ "${VBANK_REQUIRE_POSTGRES:-0}" = 1 ]; then
  echo "PostgreSQL is required (VBANK_REQUIRE_POSTGRES=1) but nothing listens at $host:$port."
  echo "Start it (pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start) or set VBANK_TEST_POSTGRES_URL."
  exit 1
else
  echo "== PostgreSQL suite SKIPPED: nothing listens at $host:$port."
  echo "   Start PostgreSQL (trust auth, database 'test') or set VBANK_TEST_POSTGRES_URL to run it."
fi

echo "== end-to-end tests in headless Chromium (console, Swagger UI, OpenAPI 3.1)"
required=0
if [ "${VBANK_REQUIRE_POSTGRES:-0}" = 1 ] || [ "${CI:-}" = true ]; then required=1; fi
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ ! -x "$chromium" ] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "$required" = 1 ]; then
    echo "Chromium ($chromium) or Node.js is missing, and CI needs the end-to-end tests."
    echo "Install them (apt-get install -y chromium; Node.js 20+) or set CHROMIUM_PATH."
    exit 1
  fi
  echo "== end-to-end tests SKIPPED: no Chromium at $chromium (apt-get install chromium) or no Node.js."
  exit 0
fi
if [ ! -d e2e/node_modules/playwright-core ]; then
  npm ci --prefix e2e --no-audit --no-fund --loglevel=error
fi
cargo build -p vbank-server --bin vbank
(cd e2e && node --test --test-concurrency=1 .)
echo "screenshots: $(ls target/e2e/*.png | tr '\n' ' ')"
