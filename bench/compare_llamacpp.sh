#!/usr/bin/env bash
# Compares kvserve with llama.cpp on this machine, on the same GGUF files:
# prompt processing (pp, P tokens) and generation (tg, N tokens) at 1 and 2
# threads, for random-weight TinyLlama-shape models in F16, Q8_0, Q4_0 and
# Q4_K by default (TYPES: any of F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K
# Q4_K Q5_K Q6_K IQ4_NL IQ4_XS; every matrix in that one type, as
# llama-quantize --pure, so that each row measures that type's kernels);
# prints kvserve/llama.cpp ratios and each kvserve decode speed as a
# fraction of the memory-bandwidth ceiling (read bandwidth / bytes read per
# token). `kvserve bench` samples the read bandwidth with its own threads
# right before and right after each of its tg runs. The table gives three
# fractions: "paired", each repetition's tg against the better of the two
# samples beside it (tg_paired_ceiling_pct), averaged over the repetitions,
# with the lowest repetition; "row best", the row's mean tg against the best
# sample of all its repetitions; and, strictest, "run best", against the
# best sample of the whole run at that thread count. The machine's read
# bandwidth changes phase within minutes (31-74 GB/s seen here), so the
# last two set one repetition's tg against another repetition's bandwidth.
#
# llama.cpp comes twice from the npm package node-llama-cpp: its prebuilt
# binaries (no llama-bench: bench/llamacpp_bench.mjs times them through its
# API), and the anchor, a native build (GGML_NATIVE=ON) of the source it
# ships, timed by its own llama-bench (bench/build_llamacpp_native.sh;
# NATIVE=0 skips it). Ratios are against the native build; the prebuilt is
# the second column. Everything downloaded or generated is cached under
# $KVS_BENCH_CACHE (default ~/.cache/kvserve). The engines alternate one
# repetition at a time (a process each) so that all see the same machine
# load; the load is printed.
#
# Batched decode: BATCH sequences of BATCH_DEPTH tokens each decode
# BATCH_N tokens together, f16 KV in both engines (llama.cpp's default),
# kvserve bench -b against llama-batched-bench -npl (aggregate tokens/s),
# on the Q8_0 file at the last thread count.
#
# ISA=avx2 compares kvserve's avx2 path (--backend cpu:avx2) with llama.cpp
# built for AVX2 without AVX-512 (LLAMACPP_ISA=avx2 in
# bench/build_llamacpp_native.sh): what a Zen 2/3 machine gets from each,
# measured on this one. The prebuilt, which picks its own variant, is left
# out then.
#
# Usage: bench/compare_llamacpp.sh [BUILD_DIR]
# Env: TYPES="F16 Q8_0 Q4_0 Q4_K" THREADS="1 2" P=512 N=128 REPS=3
#      BATCH=16 BATCH_DEPTH=512 BATCH_N=32 NATIVE=1 ISA= (or avx2)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
KVSERVE=$BUILD/kvserve
SHARED=${SHARED:-$ROOT/../shared}
CACHE=${KVS_BENCH_CACHE:-$HOME/.cache/kvserve}
NLC=$CACHE/node-llama-cpp
TYPES=${TYPES:-"F16 Q8_0 Q4_0 Q4_K"}
THREADS=${THREADS:-"1 2"}
P=${P:-512}
N=${N:-128}
REPS=${REPS:-3}
BATCH=${BATCH:-16}
BATCH_DEPTH=${BATCH_DEPTH:-512}
BATCH_N=${BATCH_N:-32}
NATIVE=${NATIVE:-1}
ISA=${ISA:-}
case $ISA in
  '') KVS_BACKEND=(); PREBUILT=1 ;;
  avx2) KVS_BACKEND=(--backend cpu:avx2); PREBUILT=0 ;;
  *) echo "ISA must be empty or avx2" >&2; exit 2 ;;
esac
RESULTS=$CACHE/results-$(date +%Y%m%d-%H%M%S).jsonl

[ -x "$KVSERVE" ] || { echo "no $KVSERVE: build first (make build)" >&2; exit 1; }

# A signal stops the engine that is running, not only this script: bash runs
# a trap only between commands, so each engine runs in the background while
# the script waits (`waited`), and the trap ends it with its children.
kill_tree() {  # PID: the process and everything under it
  local c
  for c in $(pgrep -P "$1"); do kill_tree "$c"; done
  kill "$1" 2> /dev/null || true
}
trap 'for c in $(pgrep -P $$); do kill_tree "$c"; done; exit 143' INT TERM
waited() { "$@" & wait "$!"; }
mkdir -p "$CACHE/models" "$NLC"

# 1. llama.cpp via node-llama-cpp, pinned.
if [ ! -f "$NLC/node_modules/node-llama-cpp/package.json" ]; then
  echo "installing node-llama-cpp@3.21.1 into $NLC" >&2
  (cd "$NLC" && { [ -f package.json ] || echo '{"name":"kvs-llamacpp-bench","private":true}' > package.json; } &&
   npm install --no-audit --no-fund node-llama-cpp@3.21.1 >&2)
fi
cp "$ROOT/bench/llamacpp_bench.mjs" "$NLC/llamacpp_bench.mjs"  # resolves node_modules there
LLAMA_BENCH=
[ "$NATIVE" = 1 ] && LLAMA_BENCH=$(LLAMACPP_ISA=${ISA:-native} "$ROOT/bench/build_llamacpp_native.sh")
# llama-bench -o jsonl prints one object per test; one line in our format.
native_json() {  # TYPE THREADS
  node -e '
    const lines = require("fs").readFileSync(0, "utf8").trim().split("\n").map(JSON.parse);
    const out = {engine: "llama.cpp-native", type: process.argv[1], threads: +process.argv[2]};
    for (const l of lines) out[l.n_gen > 0 ? "tg_tps" : "pp_tps"] = l.avg_ts;
    console.log(JSON.stringify(out));' "$1" "$2"
}

# 2. Models (random weights, real TinyLlama-1.1B shapes), generated once.
for t in $TYPES; do
  f=$CACHE/models/tinyllama-$t.gguf
  [ -f "$f" ] || "$KVSERVE" make-model --shape tinyllama --type "$t" --pure \
    --vocab "$SHARED/models/tokenizer.bin" -o "$f"
done

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores;" \
     "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# 3. Alternating runs: one repetition of each engine in turn, so that each
# pair of figures is taken within the same minute (the machine's phases last
# minutes); every process warms up before it times. Each run appends one
# line for file $f, type $t at $th threads.
prebuilt_run() {
  node "$NLC/llamacpp_bench.mjs" "$f" "$th" "$P" "$N" 1 |
    sed "s/^{/{\"engine\":\"llama.cpp\",\"type\":\"$t\",/" >> "$RESULTS"
}
native_run() {
  "$LLAMA_BENCH" -m "$f" -t "$th" -p "$P" -n "$N" -r 1 -o jsonl 2> /dev/null |
    native_json "$t" "$th" >> "$RESULTS"
}
kvserve_run() {
  "$KVSERVE" bench -m "$f" -t "$th" -p "$P" -n "$N" -r 1 --json "${KVS_BACKEND[@]}" |
    sed "s/^{/{\"engine\":\"kvserve\",\"type\":\"$t\",/" >> "$RESULTS"
}
for t in $TYPES; do
  f=$CACHE/models/tinyllama-$t.gguf
  for th in $THREADS; do
    for rep in $(seq "$REPS"); do
      echo "== $t, $th threads, repetition $rep: llama.cpp prebuilt, native, then kvserve" >&2
      if [ "$PREBUILT" = 1 ]; then waited prebuilt_run; fi
      if [ -n "$LLAMA_BENCH" ]; then waited native_run; fi
      waited kvserve_run
    done
  done
done
# Batched decode: BATCH sequences of BATCH_DEPTH tokens per step, Q8_0, the
# last thread count listed; llama-batched-bench first, then kvserve.
last_th=${THREADS##* }
batched_native_run() {
  "$(dirname "$LLAMA_BENCH")/llama-batched-bench" -m "$f" -t "$last_th" -tb "$last_th" \
      -c $((BATCH * (BATCH_DEPTH + BATCH_N))) -b 2048 -ub 512 -npp "$BATCH_DEPTH" \
      -ntg "$BATCH_N" -npl "$BATCH" --output-format jsonl 2> /dev/null | grep '^{' |
    node -e '
      const l = JSON.parse(require("fs").readFileSync(0, "utf8").trim().split("\n").pop());
      console.log(JSON.stringify({engine: "llama.cpp-native-batched", type: "Q8_0",
        threads: l.n_threads, batch: l.pl, depth: l.pp, batched_tps: l.speed_tg}));' >> "$RESULTS"
}
batched_kvserve_run() {
  "$KVSERVE" bench -m "$f" -t "$last_th" -p 0 -n "$BATCH_N" -r 1 -d "$BATCH_DEPTH" \
    -b "$BATCH" --kv-cache-dtype f16 --json "${KVS_BACKEND[@]}" |
    sed "s/^{/{\"engine\":\"kvserve-batched\",\"type\":\"Q8_0\",/" >> "$RESULTS"
}
if [[ " $TYPES " == *" Q8_0 "* ]] && [ "$BATCH" -gt 0 ]; then
  f=$CACHE/models/tinyllama-Q8_0.gguf
  for rep in 1 2; do
    if [ -n "$LLAMA_BENCH" ]; then
      echo "== Q8_0, $last_th threads: llama-batched-bench x $BATCH at $BATCH_DEPTH" >&2
      waited batched_native_run
    fi
    echo "== Q8_0, $last_th threads: kvserve batched decode x $BATCH at $BATCH_DEPTH" >&2
    waited batched_kvserve_run
  done
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); raw results: $RESULTS" >&2

# 4. The table.
node - "$RESULTS" <<'JS'
const fs = require("fs");
const raw = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map(JSON.parse);
// One row per (engine, type, threads): mean +- sd over the repetitions; the
// read bandwidth is the best and the lowest sample of all of them.
const stat = (v) => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0;
  return [m, sd];
};
const rows = [];
for (const r of raw) {
  let row = rows.find(x => x.engine === r.engine && x.type === r.type && x.threads === r.threads);
  if (!row) rows.push(row = {...r, reps: []});
  row.reps.push(r);
}
for (const row of rows) {
  for (const k of ["pp", "tg", "batched"]) {
    const v = row.reps.map(r => r[k + "_tps"]);
    if (row.reps.length > 1) [row[k + "_tps"], row[k + "_sd"]] = stat(v);
  }
  if (row.engine === "kvserve") {
    row.read_bw_gbs = Math.max(...row.reps.map(r => r.read_bw_gbs));
    row.read_bw_min_gbs = Math.min(...row.reps.map(r => r.read_bw_min_gbs));
    const paired = row.reps.map(r => r.tg_paired_ceiling_pct);
    row.paired_pct = stat(paired)[0];
    row.paired_min_pct = Math.min(...paired);
  }
}
const find = (e, t, th) => rows.find(r => r.engine === e && r.type === t && r.threads === th);
const f = (x, d = 1) => x.toFixed(d);
const bestBw = {};
for (const r of rows.filter(r => r.engine === "kvserve")) bestBw[r.threads] = Math.max(bestBw[r.threads] || 0, r.read_bw_gbs);
// Ratios against the native build where it ran, else against the prebuilt.
console.log("| type | threads | pp: llama.cpp native / prebuilt | kvserve pp | pp ratio (vs prebuilt) | " +
            "tg: llama.cpp native / prebuilt | kvserve tg | tg ratio (vs prebuilt) | " +
            "read GB/s best (lowest) | tg / paired ceiling (lowest rep) | tg / row-best ceiling | " +
            "tg / run-best ceiling |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
const pm = (r, k) => r ? `${f(r[k + "_tps"])} ± ${f(r[k + "_sd"] || 0)}` : "-";
const ratio = (a, r, k) => r ? f(a / r[k + "_tps"], 2) : "-";
for (const k of rows.filter(r => r.engine === "kvserve")) {
  const l = find("llama.cpp", k.type, k.threads), n = find("llama.cpp-native", k.type, k.threads);
  if (!l && !n) continue;
  const perToken = k.weight_bytes + k.kv_bytes_per_token;
  const pct = (bw) => f(100 * k.tg_tps * perToken / (bw * 1e9), 0) + "%";
  console.log(`| ${k.type} | ${k.threads} | ${pm(n, "pp")} / ${pm(l, "pp")} | ${pm(k, "pp")} | ` +
    `${ratio(k.pp_tps, n, "pp")} (${ratio(k.pp_tps, l, "pp")}) | ${pm(n, "tg")} / ${pm(l, "tg")} | ` +
    `${pm(k, "tg")} | ${ratio(k.tg_tps, n, "tg")} (${ratio(k.tg_tps, l, "tg")}) | ` +
    `${f(k.read_bw_gbs)} (${f(k.read_bw_min_gbs)}) | ` +
    `${f(k.paired_pct, 0)}% (${f(k.paired_min_pct, 0)}%) | ${pct(k.read_bw_gbs)} | ` +
    `${pct(bestBw[k.threads])} (${f(bestBw[k.threads])} GB/s) |`);
}
for (const b of rows.filter(r => r.engine === "kvserve-batched")) {
  const n = find("llama.cpp-native-batched", b.type, b.threads);
  console.log(`\nbatched decode, ${b.type}, ${b.threads} threads, ${b.batch} sequences of ${b.depth} ` +
    `tokens, f16 KV: kvserve ${pm(b, "batched")} tokens/s aggregate` +
    (n ? `, llama-batched-bench ${pm(n, "batched")}: x${f(b.batched_tps / n.batched_tps, 2)}` : ""));
}
JS
