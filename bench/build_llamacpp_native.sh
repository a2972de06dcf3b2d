#!/usr/bin/env bash
# Builds llama.cpp for this CPU (GGML_NATIVE=ON) from the source that the
# pinned npm package node-llama-cpp ships (llama/gitRelease.bundle, a git
# bundle of llama.cpp at the commit its prebuilt binaries come from), so that
# the benchmarks can compare with what a user who builds from source gets.
# Builds llama-bench and llama-batched-bench (and libggml-base, which
# bench/compare_ggml_dequant.sh links) into llama.cpp/build-native under
# the cache. Idempotent: ninja leaves a tree already built as it is. Prints
# the llama-bench path.
#
# The compiler is clang where it is installed: Debian 12's GCC 12 builds
# ggml's AMX kernels (compiled in by GGML_NATIVE on CPUs with AMX-INT8) so
# that the first tile instruction raises SIGILL, as kvserve's own AMX
# kernels did: GCC 12's _tile_loadconfig does not mark the whole 64-byte
# config as read, and ggml builds it on the stack. With clang 14 the same
# source runs.
#
# LLAMACPP_ISA=avx2 builds instead what an AVX2 machine without AVX-512
# (Zen 2/3, Haswell to Comet Lake) gets from GGML_NATIVE: AVX, AVX2, FMA,
# F16C and BMI2 on, AVX-512 off, into llama.cpp/build-avx2; the anchor for
# kvserve's avx2 path (bench/compare_llamacpp.sh ISA=avx2).
#
# Usage: bench/build_llamacpp_native.sh
# Env: KVS_BENCH_CACHE (default ~/.cache/kvserve), JOBS (default nproc),
#      CC / CXX (default clang / clang++ when present), LLAMACPP_ISA
#      (native or avx2; default native)
set -euo pipefail

CACHE=${KVS_BENCH_CACHE:-$HOME/.cache/kvserve}
NLC=$CACHE/node-llama-cpp
SRC=$NLC/llama.cpp
JOBS=${JOBS:-$(nproc)}
BUNDLE=$NLC/node_modules/node-llama-cpp/llama/gitRelease.bundle

if [ ! -f "$BUNDLE" ]; then
  echo "installing node-llama-cpp@3.21.1 into $NLC" >&2
  mkdir -p "$NLC"
  (cd "$NLC" && { [ -f package.json ] || echo '{"name":"kvs-llamacpp-bench","private":true}' > package.json; } &&
   npm install --no-audit --no-fund node-llama-cpp@3.21.1 >&2)
fi
want=$(git bundle list-heads "$BUNDLE" | awk '$2 == "HEAD" {print $1}')
if [ ! -d "$SRC/.git" ]; then
  git clone --quiet "$BUNDLE" "$SRC" >&2
fi
have=$(git -C "$SRC" rev-parse HEAD)
[ "$have" = "$want" ] || { git -C "$SRC" fetch --quiet "$BUNDLE" HEAD && git -C "$SRC" checkout --quiet "$want"; } >&2

if command -v clang++ > /dev/null; then
  export CC=${CC:-clang} CXX=${CXX:-clang++}
fi
# No network at build time: CURL off; tests, examples and the server are not needed.
case ${LLAMACPP_ISA:-native} in
  native) DIR=$SRC/build-native ISA_FLAGS=(-DGGML_NATIVE=ON) ;;
  avx2) DIR=$SRC/build-avx2 ISA_FLAGS=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON
                                       -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF) ;;
  *) echo "LLAMACPP_ISA must be native or avx2" >&2; exit 2 ;;
esac
cmake -S "$SRC" -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "${ISA_FLAGS[@]}" \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >&2
cmake --build "$DIR" -j "$JOBS" --target llama-bench llama-batched-bench ggml-base >&2
echo "$DIR/bin/llama-bench"
