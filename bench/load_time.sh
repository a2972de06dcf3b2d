#!/usr/bin/env bash
# Loading time of the same random weights as a Hugging Face folder and as a
# GGUF file: `kvserve make-model` writes both (same seed), then `kvserve
# generate -n 1` loads each REPS times, alternating, and prints what its
# stats line says: the model (open, metadata, tokenizer, and for a folder
# the Q/K permutation into an overlay) and the runner (the CPU backend
# copies every matrix into its huge-page arena, whatever the format), once
# as it is by default and once with --weights-in-place (the matrices the
# kernels read in the file's layout left in the mapping; on AVX-512
# machines BACKEND=cpu:avx512-bf16dot, since the AMX tiles and the bands
# take BF16 repacked).
#
# Usage: bench/load_time.sh [BUILD_DIR]
# Env: SHAPE=llama3.2-1b TYPE=BF16 VOCAB=vocab/hf-llama3.1 REPS=5 DIR=/tmp/kvs-load BACKEND=cpu
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
SHARED=${SHARED:-$ROOT/../shared}
SHAPE=${SHAPE:-llama3.2-1b}
TYPE=${TYPE:-BF16}
VOCAB=${VOCAB:-vocab/hf-llama3.1}
REPS=${REPS:-5}
DIR=${DIR:-/tmp/kvs-load}
BACKEND=${BACKEND:-cpu}

mkdir -p "$DIR"
folder=$DIR/$SHAPE-$TYPE-hf
gguf=$DIR/$SHAPE-$TYPE.gguf
[ -d "$folder" ] || "$BUILD/kvserve" make-model --shape "$SHAPE" --type "$TYPE" --seed 1 \
  --vocab "$SHARED/models/$VOCAB" --format hf -o "$folder" >/dev/null
[ -f "$gguf" ] || "$BUILD/kvserve" make-model --shape "$SHAPE" --type "$TYPE" --seed 1 \
  --vocab "$SHARED/models/$VOCAB" -o "$gguf" >/dev/null

echo "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$REPS"); do
  for mode in copy in-place; do
    for m in "$gguf" "$folder"; do
      flag=$([ $mode = in-place ] && echo --weights-in-place || true)
      line=$("$BUILD/kvserve" generate -m "$m" -p Hi -n 1 --temperature 0 --backend "$BACKEND" $flag 2>&1 \
        >/dev/null | grep -o 'load: [^;]*')
      printf '%-4s %-8s %s\n' "$([ -d "$m" ] && echo hf || echo gguf)" "$mode" "$line"
    done
  done
done | tee "$DIR/load.txt"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for f in gguf hf; do
  for mode in copy in-place; do
    rows=$(grep -E "^$f +$mode " "$DIR/load.txt")
    printf '%s %s median: model %s s, runner %s s\n' "$f" "$mode" \
      "$(sed 's/.*model \([0-9.]*\).*/\1/' <<<"$rows" | median)" \
      "$(sed 's/.*runner \([0-9.]*\).*/\1/' <<<"$rows" | median)"
  done
done
