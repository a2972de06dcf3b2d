#!/usr/bin/env bash
# Regenerates tests/data/families/llamacpp-greedy.json: llama.cpp's greedy
# continuations (through node-llama-cpp 3.21.1, as bench/compare_llamacpp.sh
# installs it) of a few prompts on the small random-weight model of each
# family that `kvserve make-model` writes, in F32 and F16, with each file's
# SHA-256 so that tests/families_test.cc notices when make-model's output
# changes (then run this again). Not part of `make test`: it needs npm.
# Usage: bench/families_reference.sh [BUILD_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
SHARED=${SHARED:-$ROOT/../shared}
CACHE=${KVS_BENCH_CACHE:-$HOME/.cache/kvserve}
NLC=$CACHE/node-llama-cpp
VOCAB=${VOCAB:-$SHARED/models/tok512.bin}
OUT=${OUT:-$ROOT/tests/data/families/llamacpp-greedy.json}
SHAPES=${SHAPES:-"test-llama3 test-qwen2 test-qwen3"}
PROMPTS=("1,403,407,261,378" "1,320,279,500,347,266,280" "1,77,88,99,111,222,333,444,55")
N=24

if [ ! -f "$NLC/node_modules/node-llama-cpp/package.json" ]; then
  mkdir -p "$NLC"
  (cd "$NLC" && { [ -f package.json ] || echo '{"private":true}' > package.json; } &&
   npm install --no-audit --no-fund node-llama-cpp@3.21.1 >&2)
fi
cp "$ROOT/bench/llamacpp_greedy.mjs" "$NLC/"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  echo "{"
  first=1
  for shape in $SHAPES; do
    for type in F32 F16; do
      f=$tmp/$shape-$type.gguf
      "$BUILD/kvserve" make-model --shape "$shape" --type "$type" --vocab "$VOCAB" --seed 1 \
        -o "$f" 2>/dev/null
      [ $first = 1 ] || echo ","
      first=0
      printf '  "%s-%s": {"sha256": "%s", "vocab": "%s", "runs": [' "$shape" "$type" \
        "$(sha256sum "$f" | cut -d' ' -f1)" "$(basename "$VOCAB")"
      sep=""
      for p in "${PROMPTS[@]}"; do
        run=$(cd "$NLC" && node llamacpp_greedy.mjs "$f" $N "$p")
        printf '%s\n    %s' "$sep" "$run"
        sep=","
      done
      printf ']}'
    done
  done
  echo
  echo "}"
} > "$OUT"
echo "wrote $OUT" >&2
