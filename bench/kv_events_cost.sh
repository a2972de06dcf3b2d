#!/bin/sh
# What KV events cost decode: output tok/s of `kvserve loadgen`
# (long-generation, 8 concurrent users, closed loop) against two servers on
# stories260K, one without KV events and one publishing them
# (--kv-events-endpoint, --prefix-hash sha256_cbor, replay socket on) to a
# live Python subscriber that decodes every batch, alternating, ROUNDS times
# each. Only one server is loaded at a time; the other sits idle.
# Usage: bench/kv_events_cost.sh [BUILD] [ROUNDS] [SECONDS]
set -eu
BUILD=${1:-build}
ROUNDS=${2:-3}
SECS=${3:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
PORT_OFF=${PORT_OFF:-18981}
PORT_ON=${PORT_ON:-18982}
EV=${EV:-18983}
MODEL="-m $SHARED/models/stories260K.bin --tokenizer $SHARED/models/tok512.bin"
# A small pool (256 blocks of 16) so that long generations evict: events of
# both kinds flow.
COMMON="--host 127.0.0.1 -t 1 --kv-cache-tokens 4096"
"$BUILD/kvserve" serve $MODEL $COMMON --port "$PORT_OFF" >/tmp/kv_events_cost.off.log 2>&1 &
OFF=$!
"$BUILD/kvserve" serve $MODEL $COMMON --port "$PORT_ON" --prefix-hash sha256_cbor \
  --kv-events-endpoint "tcp://127.0.0.1:$EV" --kv-events-replay-endpoint "tcp://127.0.0.1:$((EV + 1))" \
  >/tmp/kv_events_cost.on.log 2>&1 &
ON=$!
/usr/bin/python3 -c "
import sys, zmq, msgpack
s = zmq.Context().socket(zmq.SUB); s.setsockopt(zmq.SUBSCRIBE, b''); s.connect('tcp://127.0.0.1:$EV')
n = ev = nb = 0
while True:
    _, seq, payload = s.recv_multipart()
    b = msgpack.unpackb(payload); n += 1; ev += len(b[1]); nb += len(payload)
    if n % 1000 == 0: print('subscriber: %d batches, %d events, %d payload bytes' % (n, ev, nb), flush=True)
" >/tmp/kv_events_cost.sub.log 2>&1 &
SUB=$!
trap 'kill $OFF $ON $SUB 2>/dev/null' EXIT
sleep 3
run() {
  "$BUILD/kvserve" loadgen --url "http://127.0.0.1:$1" --scenario long-generation --concurrency 8 \
    --duration "$SECS" --requests 100000 --out /tmp/kv_events_cost.json >/dev/null 2>&1
  /usr/bin/python3 -c "import json; print('%.0f' % json.load(open('/tmp/kv_events_cost.json'))['output_tokens_per_s'])"
}
i=0
while [ $i -lt "$ROUNDS" ]; do
  echo "round $i: events off: $(run $PORT_OFF) output tok/s"
  echo "round $i: events on: $(run $PORT_ON) output tok/s"
  i=$((i + 1))
done
tail -1 /tmp/kv_events_cost.sub.log || true
