#!/usr/bin/env bash
# Loading time of the same random weights as a Hugging Face folder and as a
# GGUF file: `kvserve make-model` writes both (same seed), then `kvserve
# generate -n 1` loads each REPS times, alternating, and prints what its
# stats line says: the model (open, metadata, tokenizer, and for a folder
# the Q/K permutation into an overlay) and the runner (the CPU backend
# copies every matrix into its huge-page arena, whatever the format).
#
# Usage: bench/load_time.sh [BUILD_DIR]
# Env: SHAPE=llama3.2-1b TYPE=BF16 VOCAB=vocab/hf-llama3.1 REPS=5 DIR=/tmp/kvs-load
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
SHARED=${SHARED:-$ROOT/../shared}
SHAPE=${SHAPE:-llama3.2-1b}
TYPE=${TYPE:-BF16}
VOCAB=${VOCAB:-vocab/hf-llama3.1}
REPS=${REPS:-5}
DIR=${DIR:-/tmp/kvs-load}

mkdir -p "$DIR"
folder=$DIR/$SHAPE-$TYPE-hf
gguf=$DIR/$SHAPE-$TYPE.gguf
[ -d "$folder" ] || "$BUILD/kvserve" make-model --shape "$SHAPE" --type "$TYPE" --seed 1 \
  --vocab "$SHARED/models/$VOCAB" --format hf -o "$folder" >/dev/null
[ -f "$gguf" ] || "$BUILD/kvserve" make-model --shape "$SHAPE" --type "$TYPE" --seed 1 \
  --vocab "$SHARED/models/$VOCAB" -o "$gguf" >/dev/null

echo "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$REPS"); do
  for m in "$gguf" "$folder"; do
    line=$("$BUILD/kvserve" generate -m "$m" -p Hi -n 1 --temperature 0 2>&1 >/dev/null |
      grep -o 'load: [^;]*')
    printf '%-5s %s\n' "$([ -d "$m" ] && echo hf || echo gguf)" "$line"
  done
done | tee "$DIR/load.txt"
for f in gguf hf; do
  printf '%s median: model %s s, runner %s s\n' "$f" \
    "$(grep "^$f " "$DIR/load.txt" | sed 's/.*model \([0-9.]*\).*/\1/' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" \
    "$(grep "^$f " "$DIR/load.txt" | sed 's/.*runner \([0-9.]*\).*/\1/' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done
