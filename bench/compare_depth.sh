#!/usr/bin/env bash
# Decode at depth against llama.cpp's own llama-bench -d, with the same KV
# cache types: `kvserve bench -d D --kv-cache-dtype T` against `llama-bench
# -d D -ctk T -ctv T -fa on`, on the same TinyLlama-shape GGUF file (random
# weights, every matrix in one type). Each engine prefills D tokens (untimed,
# once per process) and then times -n single-token decode steps after them,
# -r times. The engines alternate, one process each, ROUNDS times, so that
# both see the same machine load; the load is printed.
#
# llama-bench is the natively built one (GGML_NATIVE=ON) from the source tree
# node-llama-cpp ships, under $KVS_BENCH_CACHE/node-llama-cpp/llama.cpp/build-native
# (bench/build_llamacpp_native.sh builds it).
#
# Usage: bench/compare_depth.sh [BUILD_DIR]
# Env: TYPE=Q8_0 DEPTHS="4096" KV="f16 q8_0" THREADS=2 N=64 REPS=2 ROUNDS=2
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
KVSERVE=$BUILD/kvserve
CACHE=${KVS_BENCH_CACHE:-$HOME/.cache/kvserve}
LLAMA_BENCH=${LLAMA_BENCH:-$CACHE/node-llama-cpp/llama.cpp/build-native/bin/llama-bench}
TYPE=${TYPE:-Q8_0}
DEPTHS=${DEPTHS:-4096}
KV=${KV:-"f16 q8_0"}
THREADS=${THREADS:-2}
N=${N:-64}
REPS=${REPS:-2}
ROUNDS=${ROUNDS:-2}
MODEL=$CACHE/models/tinyllama-$TYPE.gguf
RESULTS=$CACHE/depth-$(date +%Y%m%d-%H%M%S).jsonl

[ -x "$KVSERVE" ] || { echo "no $KVSERVE: build first" >&2; exit 1; }
[ -x "$LLAMA_BENCH" ] || { echo "no $LLAMA_BENCH: run bench/build_llamacpp_native.sh first" >&2; exit 1; }
[ -f "$MODEL" ] || "$KVSERVE" make-model --shape tinyllama --type "$TYPE" --pure \
  --vocab "$ROOT/../shared/models/tokenizer.bin" -o "$MODEL"

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores;" \
     "load before: $(cut -d' ' -f1-3 /proc/loadavg); results in $RESULTS" >&2
for d in $DEPTHS; do
  for kv in $KV; do
    for round in $(seq "$ROUNDS"); do
      echo "== $TYPE, depth $d, KV $kv, round $round: llama-bench, then kvserve" \
           "(load $(cut -d' ' -f1 /proc/loadavg))" >&2
      "$LLAMA_BENCH" -m "$MODEL" -t "$THREADS" -p 0 -n "$N" -d "$d" -ctk "$kv" -ctv "$kv" -fa on \
        -r "$REPS" -o jsonl 2>/dev/null |
        sed "s/^{/{\"engine\":\"llama.cpp\",\"kv\":\"$kv\",/" >> "$RESULTS"
      "$KVSERVE" bench -m "$MODEL" -t "$THREADS" -p 0 -n "$N" -d "$d" --kv-cache-dtype "$kv" \
        -r "$REPS" --json |
        sed "s/^{/{\"engine\":\"kvserve\",\"kv\":\"$kv\",/" >> "$RESULTS"
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

/usr/bin/python3 - "$RESULTS" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def key(r): return (r.get("depth", r.get("n_depth")), r["kv"])
out = {}
for r in rows:
    if r["engine"] == "llama.cpp":
        out.setdefault(key(r), {"l": [], "k": []})["l"].append(r["avg_ts"])
    else:
        out.setdefault(key(r), {"l": [], "k": [], "kvb": r["kv_bytes_per_position"]})
        out[key(r)]["k"].append(r["tg_tps"]); out[key(r)]["kvb"] = r["kv_bytes_per_position"]
print("| depth | KV | KV bytes/position | kvserve tg tok/s | llama-bench tg tok/s | ratio per round |")
print("|---|---|---|---|---|---|")
for (d, kv), v in sorted(out.items()):
    ratios = " ".join("%.2fx" % (k / l) for k, l in zip(v["k"], v["l"]))
    print("| %d | %s | %d | %s | %s | %s |" % (d, kv, v.get("kvb", 0),
          " ".join("%.2f" % x for x in v["k"]), " ".join("%.2f" % x for x in v["l"]), ratios))
EOF
