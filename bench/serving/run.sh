#!/usr/bin/env bash
# Serving benchmarks of kvserve with its own load generator (kvserve loadgen).
#
#   run.sh short BUILD MODEL [TOKENIZER]   every scenario, a short run each, on
#                                          the default model (make bench)
#   run.sh long  BUILD                     the TinyLlama-shape Q8_0 workload that
#                                          issue #7 compares with llama-server
#                                          (make bench-serving)
#   run.sh disagg BUILD                    issue 18: colocated at 2 and 1 threads
#                                          against a prefill worker (1 thread) and a
#                                          decode worker (1 thread) behind the router,
#                                          mixed lengths, TinyLlama-shape Q8_0
#
# Each run starts its own `kvserve serve` on a free loopback port, so nothing
# else needs to be running. JSON reports and SVG plots go to $OUT (default
# BUILD/bench-serving); the tables are written into docs/BENCHMARKS.md between
# the loadgen markers by summarize.mjs (node).
set -euo pipefail
mode=${1:?usage: run.sh short|long BUILD [MODEL] [TOKENIZER]}
build=${2:?build directory}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
kvserve="$build/kvserve"
out=${OUT:-$build/bench-serving}
threads=${THREADS:-2}
mkdir -p "$out"
[ -x "$kvserve" ] || { echo "run.sh: $kvserve not built" >&2; exit 1; }

lg() {  # lg NAME ARGS...: one loadgen run, report in $out/NAME.json
  local name=$1; shift
  echo "== $name" >&2
  "$kvserve" loadgen --out "$out/$name.json" --plot "$out/$name.svg" \
    --server-log "$out/$name.server.log" "$@" | tee "$out/$name.txt"
}

if [ "$mode" = short ]; then
  model=${3:?model}
  tok=${4:-}
  m=(-m "$model")
  [ -n "$tok" ] && m+=(--tokenizer "$tok")
  srv="--threads $threads"
  # 1. Prefix caching on/off on a long shared system prompt, one invocation.
  lg shared_prefix_ablation "${m[@]}" --scenario shared-system-prompt --concurrency 4 \
    --requests 48 --max-tokens 32 --serve-args "$srv" --ablate prefix-cache
  # 2. Long outputs with a KV budget far below the offered load (640 tokens
  #    of KV for 8 users of ~460 tokens): preemption, not failure.
  lg long_generation "${m[@]}" --scenario long-generation --concurrency 8 --requests 24 \
    --serve-args "$srv --kv-cache-tokens 640" --metrics-period 0.1
  # 3. Chunked prefill on/off under mixed lengths, open loop.
  lg mixed_chunked_ablation "${m[@]}" --scenario mixed-lengths --rate 20 --requests 120 \
    --seed 11 --serve-args "$srv" --ablate chunked-prefill=32
  # 4. The other shapes.
  lg multi_turn "${m[@]}" --scenario multi-turn --concurrency 4 --requests 32 --serve-args "$srv"
  lg multi_tenant "${m[@]}" --scenario multi-tenant --concurrency 4 --requests 32 \
    --serve-args "$srv"
  names="shared_prefix_ablation long_generation mixed_chunked_ablation multi_turn multi_tenant"
elif [ "$mode" = long ]; then
  model=${MODEL_FILE:-$out/tinyllama-q8_0.gguf}
  if [ ! -f "$model" ]; then
    "$kvserve" make-model --shape tinyllama --type Q8_0 \
      --vocab "${VOCAB:-$root/../shared/models/tokenizer.bin}" -o "$model"
  fi
  # The llama-server anchor of issue #7: 32 streaming requests, 8 at a time,
  # a 417-token shared prefix + ~34-token suffix, 64 output tokens.
  lg tinyllama_shared_prefix -m "$model" --scenario shared-system-prompt --concurrency 8 \
    --requests 32 --system-prompt-tokens 417 --prompt-tokens 34 --max-tokens 64 \
    --request-timeout 600 --duration 1800 --slo-ttft-ms 5000 --slo-tpot-ms 500 \
    --serve-args "--threads $threads --max-running 8"
  names="tinyllama_shared_prefix"
elif [ "$mode" = disagg ]; then
  model=${MODEL_FILE:-$out/tinyllama-q8_0.gguf}
  if [ ! -f "$model" ]; then
    "$kvserve" make-model --shape tinyllama --type Q8_0 \
      --vocab "${VOCAB:-$root/../shared/models/tokenizer.bin}" -o "$model"
  fi
  # Long prompts (log-normal, median 96 tokens, tail to ~1500) arriving
  # while short ones decode; open loop. SLO: TTFT 5 s, TPOT 300 ms.
  lg disagg_ablation -m "$model" --scenario mixed-lengths --rate ${RATE:-0.25} \
    --requests ${REQUESTS:-24} --prompt-tokens 96 --max-tokens 32 --seed 18 \
    --request-timeout 600 --duration 1800 --slo-ttft-ms 5000 --slo-tpot-ms 300 \
    --metrics-period 1 --ablate disagg=${TRANSPORT:-tcp}
  # Decode alone: the same arrivals and output lengths (the same seed draws
  # them) with 4-token prompts, so no long prompt arrives.
  lg disagg_decode_alone -m "$model" --scenario mixed-lengths --rate ${RATE:-0.25} \
    --requests ${REQUESTS:-24} --prompt-tokens 4 --max-tokens 32 --seed 18 \
    --request-timeout 600 --duration 1800 --slo-ttft-ms 5000 --slo-tpot-ms 300 \
    --metrics-period 1 --ablate disagg=${TRANSPORT:-tcp}
  names="disagg_ablation disagg_decode_alone"
else
  echo "run.sh: unknown mode $mode" >&2
  exit 2
fi

if command -v node >/dev/null; then
  node "$here/summarize.mjs" "$mode" "$out" "$root/docs/BENCHMARKS.md" $names
else
  echo "run.sh: node not found; reports are in $out, docs/BENCHMARKS.md not updated" >&2
fi
