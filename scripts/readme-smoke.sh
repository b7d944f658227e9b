#!/usr/bin/env bash
# Runs the README's serve command as a newcomer would, then uses the demo merchant it
# prints: a token, an issued virtual account, a deposit at the sandbox bank, a lookup.
set -euo pipefail
cd "$(dirname "$0")/.."

serve_command=$(awk '/<!-- serve-command -->/{found=1} found && /^cargo /{print; exit}' README.md)
[ -n "$serve_command" ] || { echo "README.md lost its serve command (after <!-- serve-command -->)"; exit 1; }
url=http://127.0.0.1:8080
if (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; then
  echo "port 8080 is taken; the README's serve command needs it. Stop what listens there and rerun."
  exit 1
fi

workdir=$(mktemp -d)
log="$workdir/serve.log"
# A fresh database, as on a fresh clone; the command itself runs unchanged.
rm -f vbank.db vbank.db-wal vbank.db-shm
echo "running: $serve_command"
# In a process group of its own, so that stopping it stops cargo and the vbank it runs, and
# nothing else on the machine.
setsid bash -c "$serve_command" >"$log" 2>"$workdir/serve.err" &
server_pid=$!
cleanup() {
  kill -- "-$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  rm -f vbank.db vbank.db-wal vbank.db-shm
}
trap cleanup EXIT

for second in $(seq 1 900); do
  if grep -q '^vbank listening on' "$log" 2>/dev/null; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "the serve command exited:"; cat "$log" "$workdir/serve.err"; exit 1
  fi
  [ $((second % 30)) -eq 0 ] && echo "  still building or starting ($second s)"
  sleep 1
done
grep -q '^vbank listening on' "$log" || { echo "the server did not start in 15 minutes"; tail -20 "$workdir/serve.err"; exit 1; }
cat "$log"

imp_key=$(awk '/imp_key:/{print $2; exit}' "$log")
imp_secret=$(awk '/imp_secret:/{print $2; exit}' "$log")
[ -n "$imp_key" ] && [ -n "$imp_secret" ] || { echo "no demo merchant was printed"; exit 1; }

json() { python3 -c "import sys, json; data = json.load(sys.stdin); print($1)"; }
token=$(curl -sf -X POST "$url/users/getToken" -d "imp_key=$imp_key&imp_secret=$imp_secret" | json 'data["response"]["access_token"]')
due=$(( $(date +%s) + 86400 ))
issued=$(curl -sf -X POST "$url/vbanks" -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d "{\"merchant_uid\":\"smoke-1\",\"amount\":1000,\"vbank_code\":\"004\",\"vbank_due\":$due,\"buyer_name\":\"홍길동\"}")
imp_uid=$(echo "$issued" | json 'data["response"]["imp_uid"]')
account=$(echo "$issued" | json 'data["response"]["vbank_num"]')
curl -sf -X POST "$url/sandbox/bank/deposits" -H 'content-type: application/json' \
  -d "{\"bank_code\":\"004\",\"account_number\":\"$account\",\"amount\":1000}" | json 'data["accepted"]' | grep -qx True
status=$(curl -sf "$url/payments/$imp_uid" -H "Authorization: $token" | json 'data["response"]["status"]')
[ "$status" = paid ] || { echo "expected paid, got $status"; exit 1; }
# Whole bodies first: with pipefail, `curl | grep -q` fails when grep stops reading early.
page() { curl -sfL "$url$1" || { echo "GET $1 failed"; exit 1; }; }
grep -q '"ok"' <<<"$(page /readyz)" || { echo "/readyz is not ok"; exit 1; }
grep -q '<title>vbank console</title>' <<<"$(page /console)" || { echo "/console does not serve the console"; exit 1; }
grep -q 'swagger-ui' <<<"$(page /docs)" || { echo "/docs does not serve Swagger UI"; exit 1; }
grep -q '^vbank_pg_call_duration_seconds_count{operation="issue"' <<<"$(page /metrics)" \
  || { echo "/metrics lacks the PG call series after an issue"; exit 1; }
echo "README serve command: issued $imp_uid, deposited, status $status"
