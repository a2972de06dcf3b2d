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
# llama.cpp comes from the npm package node-llama-cpp (prebuilt binaries,
# no llama-bench: bench/llamacpp_bench.mjs times it through its API).
# Everything downloaded or generated is cached under $KVS_BENCH_CACHE
# (default ~/.cache/kvserve). The engines alternate one repetition at a
# time (a process each) so that both see the same machine load; the load
# is printed.
#
# Usage: bench/compare_llamacpp.sh [BUILD_DIR]
# Env: TYPES="F16 Q8_0 Q4_0 Q4_K" THREADS="1 2" P=512 N=128 REPS=3 BATCH=16
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
RESULTS=$CACHE/results-$(date +%Y%m%d-%H%M%S).jsonl

[ -x "$KVSERVE" ] || { echo "no $KVSERVE: build first (make build)" >&2; exit 1; }
mkdir -p "$CACHE/models" "$NLC"

# 1. llama.cpp via node-llama-cpp, pinned.
if [ ! -f "$NLC/node_modules/node-llama-cpp/package.json" ]; then
  echo "installing node-llama-cpp@3.21.1 into $NLC" >&2
  (cd "$NLC" && { [ -f package.json ] || echo '{"name":"kvs-llamacpp-bench","private":true}' > package.json; } &&
   npm install --no-audit --no-fund node-llama-cpp@3.21.1 >&2)
fi
cp "$ROOT/bench/llamacpp_bench.mjs" "$NLC/llamacpp_bench.mjs"  # resolves node_modules there

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
# minutes); every process warms up before it times.
for t in $TYPES; do
  f=$CACHE/models/tinyllama-$t.gguf
  for th in $THREADS; do
    for rep in $(seq "$REPS"); do
      echo "== $t, $th threads, repetition $rep: llama.cpp, then kvserve" >&2
      node "$NLC/llamacpp_bench.mjs" "$f" "$th" "$P" "$N" 1 |
        sed "s/^{/{\"engine\":\"llama.cpp\",\"type\":\"$t\",/" >> "$RESULTS"
      "$KVSERVE" bench -m "$f" -t "$th" -p "$P" -n "$N" -r 1 --json |
        sed "s/^{/{\"engine\":\"kvserve\",\"type\":\"$t\",/" >> "$RESULTS"
    done
  done
done
# Batched decode (kvserve): BATCH sequences per step, Q8_0, all threads listed last.
last_th=${THREADS##* }
if [[ " $TYPES " == *" Q8_0 "* ]] && [ "$BATCH" -gt 0 ]; then
  echo "== Q8_0, $last_th threads: kvserve batched decode x $BATCH" >&2
  "$KVSERVE" bench -m "$CACHE/models/tinyllama-Q8_0.gguf" -t "$last_th" -p 0 -n 32 -r 2 \
    -b "$BATCH" --json |
    sed "s/^{/{\"engine\":\"kvserve-batched\",\"type\":\"Q8_0\",/" >> "$RESULTS"
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
console.log("| type | threads | llama.cpp pp | kvserve pp | pp ratio | llama.cpp tg | kvserve tg | tg ratio | " +
            "read GB/s best (lowest) | tg / paired ceiling (lowest rep) | tg / row-best ceiling | " +
            "tg / run-best ceiling |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const k of rows.filter(r => r.engine === "kvserve")) {
  const l = find("llama.cpp", k.type, k.threads);
  if (!l) continue;
  const perToken = k.weight_bytes + k.kv_bytes_per_token;
  const pct = (bw) => f(100 * k.tg_tps * perToken / (bw * 1e9), 0) + "%";
  console.log(`| ${k.type} | ${k.threads} | ${f(l.pp_tps)} ± ${f(l.pp_sd)} | ${f(k.pp_tps)} ± ${f(k.pp_sd)} | ` +
    `${f(k.pp_tps / l.pp_tps, 2)} | ${f(l.tg_tps)} ± ${f(l.tg_sd)} | ${f(k.tg_tps)} ± ${f(k.tg_sd)} | ` +
    `${f(k.tg_tps / l.tg_tps, 2)} | ${f(k.read_bw_gbs)} (${f(k.read_bw_min_gbs)}) | ` +
    `${f(k.paired_pct, 0)}% (${f(k.paired_min_pct, 0)}%) | ${pct(k.read_bw_gbs)} | ` +
    `${pct(bestBw[k.threads])} (${f(bestBw[k.threads])} GB/s) |`);
}
for (const b of rows.filter(r => r.engine === "kvserve-batched")) {
  const single = find("kvserve", b.type, b.threads);
  console.log(`\nbatched decode, ${b.type}, ${b.threads} threads, ${b.batch} sequences: ` +
    `${f(b.batched_tps)} ± ${f(b.batched_sd)} tokens/s aggregate` +
    (single ? ` (single-sequence tg ${f(single.tg_tps)}: x${f(b.batched_tps / single.tg_tps, 2)})` : ""));
}
JS
