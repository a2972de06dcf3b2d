#!/bin/sh
# The KV dashboard's cost: decode throughput of `kvserve loadgen`
# (long-generation, 8 concurrent users, closed loop) against one server,
# with no page open and with the page open in headless Chromium (polling
# /v1/kv/snapshot twice a second), and with only a poller fetching the
# snapshot twice a second (the server's share of the cost, without the
# browser's rendering competing for the same cores), alternating, ROUNDS
# times each.
# Usage: bench/web_dashboard_cost.sh [BUILD] [ROUNDS] [SECONDS]
set -eu
BUILD=${1:-build}
ROUNDS=${2:-3}
SECS=${3:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
PORT=${PORT:-18977}
URL=http://127.0.0.1:$PORT
"$BUILD/kvserve" serve -m "$SHARED/models/stories260K.bin" --tokenizer "$SHARED/models/tok512.bin" \
  --host 127.0.0.1 --port "$PORT" -t 1 >/tmp/web_dashboard_cost.server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
sleep 2
run() {
  "$BUILD/kvserve" loadgen --url "$URL" --scenario long-generation --concurrency 8 \
    --duration "$SECS" --requests 100000 --out /tmp/web_dashboard_cost.json >/dev/null 2>&1
  python3 -c "import json; print('%.0f' % json.load(open('/tmp/web_dashboard_cost.json'))['output_tokens_per_s'])"
}
i=0
while [ $i -lt "$ROUNDS" ]; do
  echo "round $i: no dashboard: $(run) output tok/s"
  node "$ROOT/tests/server/open_dashboard.mjs" "$URL/" $((SECS + 6)) >/tmp/web_dashboard_cost.page.log 2>&1 &
  PAGE=$!
  sleep 2
  echo "round $i: dashboard open: $(run) output tok/s"
  wait $PAGE
  cat /tmp/web_dashboard_cost.page.log
  node -e "setInterval(() => fetch('$URL/v1/kv/snapshot').then((r) => r.text()), 500)" &
  POLLER=$!
  echo "round $i: snapshot polled, no browser: $(run) output tok/s"
  kill $POLLER
  i=$((i + 1))
done
