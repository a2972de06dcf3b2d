#!/usr/bin/env bash
# Decodes every tensor of llama-quantize's files with ggml's own
# dequantization and with kvserve's, and checks that they agree bit for bit
# (bench/ggml_dequant_check.cc). Needs a native llama.cpp build (its
# headers and libggml-base) and kvserve's build (libkvs_tensor.a); skips
# with a message when the llama.cpp tree is absent.
#
# Usage: bench/compare_ggml_dequant.sh [BUILD_DIR] [FILE.gguf ...]
#        bench/compare_ggml_dequant.sh BUILD_DIR --fixture FILE.gguf ...  (quant_fixtures_test's data)
#        bench/compare_ggml_dequant.sh BUILD_DIR --error REF_F32.gguf FILE.gguf ...  (quantizer error)
# Env: LLAMA_CPP (default ~/.cache/kvserve/node-llama-cpp/llama.cpp);
#      without files: $KVS_BENCH_CACHE/models/tinyllama-{Q4_1,Q5_0,Q5_1,Q2_K,
#      Q3_K,Q5_K,IQ4_NL,IQ4_XS,Q4_0,Q8_0,Q4_K,Q6_K}.gguf, those present.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
shift || true
CACHE=${KVS_BENCH_CACHE:-$HOME/.cache/kvserve}
LLAMA_CPP=${LLAMA_CPP:-$CACHE/node-llama-cpp/llama.cpp}
if [ ! -f "$LLAMA_CPP/ggml/include/gguf.h" ] || [ ! -f "$LLAMA_CPP/build-native/bin/libggml-base.so" ]; then
  echo "SKIP: no native llama.cpp build at $LLAMA_CPP (set LLAMA_CPP)" >&2
  exit 0
fi
[ -f "$BUILD/libkvs_tensor.a" ] || { echo "no $BUILD/libkvs_tensor.a: build kvs_tensor first" >&2; exit 1; }
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  for t in Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q5_K IQ4_NL IQ4_XS Q4_0 Q8_0 Q4_K Q6_K; do
    f=$CACHE/models/tinyllama-$t.gguf
    [ -f "$f" ] && files+=("$f")
  done
fi
[ ${#files[@]} -gt 0 ] || { echo "SKIP: no files to compare" >&2; exit 0; }
bin=$BUILD/ggml_dequant_check
g++ -std=c++20 -O2 -I"$ROOT/src" -I"$LLAMA_CPP/ggml/include" "$ROOT/bench/ggml_dequant_check.cc" \
  "$BUILD/libkvs_tensor.a" "$BUILD/libkvs_base.a" -L"$LLAMA_CPP/build-native/bin" -lggml-base \
  -Wl,-rpath,"$LLAMA_CPP/build-native/bin" -o "$bin"
"$bin" "${files[@]}"
