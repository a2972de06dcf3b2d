#!/usr/bin/env bash
# Best of N for Google Benchmark binaries on a noisy machine: runs each
# binary in turn, N rounds, and keeps each benchmark's best GB/s and
# GMAC/s per binary (the counters bench/matmul_bench.cc reports). Taking
# turns means a slow phase of the machine hits every binary alike.
#
# Usage: bench/bestof.sh N FILTER BINARY [BINARY...]
#   e.g. bench/bestof.sh 3 'Q4_0.*threads:1' old/matmul_bench build/matmul_bench
set -euo pipefail
n=$1; filter=$2; shift 2
for _ in $(seq "$n"); do
  for b in "$@"; do
    "$b" --benchmark_filter="$filter" --benchmark_min_time=0.3 2>/dev/null |
      awk -v b="$b" '/^BM_/ { print b, $1, $(NF-1), $NF }'
  done
done | node -e '
const best = new Map();
for (const line of require("fs").readFileSync(0, "utf8").trim().split("\n")) {
  const [bin, name, gb, gm] = line.split(" ");
  const num = (s) => { const v = parseFloat(s.split("=")[1]); return s.includes("M/s") ? v / 1000 : v; };
  const k = name + " " + bin, o = best.get(k) || [0, 0];
  best.set(k, [Math.max(o[0], num(gb)), Math.max(o[1], num(gm))]);
}
for (const [k, [gb, gm]] of [...best].sort()) console.log(`${k}  GB/s ${gb.toFixed(2)}  GMAC/s ${gm.toFixed(1)}`);
'
