#!/usr/bin/env bash
# Checks kvserve's quantization mixes (src/model/quant_mix.h) against
# llama-quantize's own choice, tensor by tensor: for each input file and mix,
# `llama-quantize --dry-run` (with --allow-requantize for quantized inputs)
# against `kvserve convert --dry-run`. Inputs cover untied and tied outputs,
# 2 to 24 layers, grouped-query ratios 2 to 8, and row lengths that are not
# multiples of 256 (Qwen2.5-0.5B's 896) or of 32 (stories260K's FFN, 172).
#
# Usage: bench/compare_quant_mix.sh [BUILD_DIR]
# Env: LLAMA_CPP (default ~/.cache/kvserve/node-llama-cpp/llama.cpp, with
#      build/bin/llama-quantize), MIXES (default: all sixteen).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
SHARED=${SHARED:-$ROOT/../shared}
CACHE=${KVS_BENCH_CACHE:-$HOME/.cache/kvserve}
LLAMA_CPP=${LLAMA_CPP:-$CACHE/node-llama-cpp/llama.cpp}
QUANTIZE=$LLAMA_CPP/build/bin/llama-quantize
MIXES=${MIXES:-"Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL IQ4_XS"}
[ -x "$QUANTIZE" ] || { echo "SKIP: no $QUANTIZE" >&2; exit 0; }
[ -x "$BUILD/kvserve" ] || { echo "no $BUILD/kvserve: build first" >&2; exit 1; }

inputs=("$SHARED/models/quant-test/quant-test-f32.gguf" "$SHARED/models/stories260K-f32.gguf")
[ -f "$CACHE/models/tinyllama-Q8_0.gguf" ] && inputs+=("$CACHE/models/tinyllama-Q8_0.gguf")
qwen=$CACHE/models/qwen2.5-0.5b-F16.gguf
if [ ! -f "$qwen" ]; then
  "$BUILD/kvserve" make-model --shape qwen2.5-0.5b --type F16 --vocab "$SHARED/models/vocab/ggml-vocab-qwen2.gguf" \
    -o "$qwen" >&2 || true
fi
[ -f "$qwen" ] && inputs+=("$qwen")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for f in "${inputs[@]}"; do
  for m in $MIXES; do
    # "[  3/ 21] token_embd.weight - [...], type = f32, size = ... -> ... (q4_K)"
    "$QUANTIZE" --dry-run --allow-requantize "$f" "$m" 2>&1 | grep -E '^\[ *[0-9]+/' |
      sed -E 's/^\[[^]]*\] +([^ ]+) .*type = +([A-Za-z0-9_]+),.*\(([A-Za-z0-9_]+)\)$/\1 \3/;
              s/^\[[^]]*\] +([^ ]+) .*type = +([A-Za-z0-9_]+),.*$/\1 \2/' |
      tr 'a-z' 'A-Z' | sort > "$tmp/llama"
    "$BUILD/kvserve" convert --dry-run -i "$f" --type "$m" | tr 'a-z' 'A-Z' | sort > "$tmp/kvs"
    n=$(wc -l < "$tmp/llama")
    if diff -q "$tmp/llama" "$tmp/kvs" > /dev/null && [ "$n" -gt 0 ]; then
      echo "$(basename "$f") $m: $n tensors, same types"
    else
      echo "$(basename "$f") $m: DIFFERENT"
      diff "$tmp/llama" "$tmp/kvs" | head -10
      fail=1
    fi
  done
done
exit $fail
