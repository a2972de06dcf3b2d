#!/bin/bash
# Issue 16's front-end measurements (loopback only), each case bounded:
#   bench/front_end/run.sh [BUILD] [CASE]   CASE: rps idle sse slowloris refused sigterm all
# rps and refused compare against the cpp-httplib server kept at
# ~/.cache/kvserve/kvserve-httplib (build main before the switch and copy its
# kvserve there; OLD_BIN overrides). Results: one JSON line per measurement.
set -euo pipefail
BUILD=${1:-build}
CASE=${2:-all}
SHARED=${SHARED:-$(dirname "$0")/../../../shared}
export NEW_BIN=${NEW_BIN:-$(realpath "$BUILD/kvserve")}
export OLD_BIN=${OLD_BIN:-$HOME/.cache/kvserve/kvserve-httplib}
[ -x "$OLD_BIN" ] || { echo "no $OLD_BIN: rps and refused need the httplib build" >&2; OLD_BIN=; }
export MODEL=${MODEL:-$(realpath "$SHARED/models/stories260K.bin")}
export TOKENIZER=${TOKENIZER:-$(realpath "$SHARED/models/tok512.bin")}
# 10,000 idle connections need the descriptors (client and server).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec node "$(dirname "$0")/front_bench.mjs" "$CASE"
