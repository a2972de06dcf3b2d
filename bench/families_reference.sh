#!/usr/bin/env bash
# Regenerates tests/data/families/llamacpp-greedy.json: for the small
# random-weight model of each family that `kvserve make-model` writes with
# its real vocabulary, in F32 and F16, llama.cpp's (node-llama-cpp 3.21.1, as
# bench/compare_llamacpp.sh installs it) token ids for a few text prompts,
# its greedy continuations and their text, with each file's SHA-256 so that
# tests/families_test.cc notices when make-model's output changes (then run
# this again). Not part of `make test`: it needs npm.
#
# Full-size shapes, the same comparison at real sizes (minutes, GBs of disk):
#   FILES="llama3.2-1b:vocab/ggml-vocab-llama-bpe.gguf qwen2.5-0.5b:vocab/ggml-vocab-qwen2.gguf
#          qwen3-0.6b:vocab/ggml-vocab-qwen2.gguf" OUT=/tmp/full.json bench/families_reference.sh
# (TYPES="F16" for half the time and disk.)
#   KVS_FAMILIES_REFERENCE=/tmp/full.json build/e2e_test --gtest_filter='*FamiliesTest*'
# Hugging Face folders: HF_FILES (shape:tokenizer folder) are written with
# make-model --format hf and turned into GGUF by `kvserve convert`; llama.cpp
# runs the converted file, the test runs the folder (HF_FILES= for none).
# Usage: bench/families_reference.sh [BUILD_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
SHARED=${SHARED:-$ROOT/../shared}
CACHE=${KVS_BENCH_CACHE:-$HOME/.cache/kvserve}
NLC=$CACHE/node-llama-cpp
OUT=${OUT:-$ROOT/tests/data/families/llamacpp-greedy.json}
# shape:vocab (relative to $SHARED/models): each family with its real
# vocabulary, so that the prompts go through llama.cpp's tokenizer too.
FILES=${FILES:-"test-llama3:vocab/ggml-vocab-llama-bpe.gguf test-qwen2:vocab/ggml-vocab-qwen2.gguf
  test-qwen3:vocab/ggml-vocab-qwen2.gguf"}
# shape:Hugging Face tokenizer folder, for folders written with --format hf.
TYPES=${TYPES:-"F32 F16"}
HF_FILES=${HF_FILES-"test-llama3:vocab/hf-llama3.1 test-qwen3:vocab/hf-qwen3"}
PROMPTS=("text:Once upon a time, in a land far away, there lived a"
  "text:<|im_start|>user
What is 12345 + 678? Answer in one word.<|im_end|>
<|im_start|>assistant
"
  "text:naïve café — 日本語のテキスト 😀👩‍👩‍👧   spaces	tab")
N=24

if [ ! -f "$NLC/node_modules/node-llama-cpp/package.json" ]; then
  mkdir -p "$NLC"
  (cd "$NLC" && { [ -f package.json ] || echo '{"private":true}' > package.json; } &&
   npm install --no-audit --no-fund node-llama-cpp@3.21.1 >&2)
fi
cp "$ROOT/bench/llamacpp_greedy.mjs" "$NLC/"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

arch_of() {
  case $1 in
    *qwen2*) echo qwen2 ;;
    *qwen3*) echo qwen3 ;;
    *) echo llama ;;
  esac
}

# One JSON entry: NAME SHAPE TYPE VOCAB FORMAT FILE (the GGUF llama.cpp runs).
entry() {
  printf '  "%s": {"shape": "%s", "arch": "%s", "type": "%s", "vocab": "%s", "format": "%s", "sha256": "%s", "runs": [' \
    "$1" "$2" "$(arch_of "$2")" "$3" "$4" "$5" "$(sha256sum "$6" | cut -d' ' -f1)"
  sep=""
  for p in "${PROMPTS[@]}"; do
    run=$(cd "$NLC" && node llamacpp_greedy.mjs "$6" $N "$p")
    printf '%s\n    %s' "$sep" "$run"
    sep=","
  done
  printf ']}'
}

{
  echo "{"
  first=1
  for e in $FILES; do
    shape=${e%%:*}
    vocab=${e#*:}
    for type in $TYPES; do
      f=$tmp/$shape-$type.gguf
      "$BUILD/kvserve" make-model --shape "$shape" --type "$type" --vocab "$SHARED/models/$vocab" \
        --seed 1 -o "$f" 2>/dev/null
      [ $first = 1 ] || echo ","
      first=0
      entry "$shape-$type" "$shape" "$type" "$vocab" gguf "$f"
    done
  done
  # Hugging Face folders (make-model --format hf) converted by `kvserve
  # convert`: llama.cpp runs the converted file, the test runs the folder.
  for e in $HF_FILES; do
    shape=${e%%:*}
    vocab=${e#*:}
    for type in $TYPES; do
      d=$tmp/$shape-$type-hf  # its name becomes general.name: tests/families_test.cc uses the same
      f=$tmp/$shape-$type-hf.gguf
      "$BUILD/kvserve" make-model --shape "$shape" --type "$type" --vocab "$SHARED/models/$vocab" \
        --format hf --seed 1 -o "$d" 2>/dev/null
      "$BUILD/kvserve" convert -q -i "$d" -o "$f" --type "$type"
      [ $first = 1 ] || echo ","
      first=0
      entry "$shape-hf-$type" "$shape" "$type" "$vocab" hf "$f"
    done
  done
  echo
  echo "}"
} > "$OUT"
echo "wrote $OUT" >&2
