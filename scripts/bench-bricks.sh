#!/usr/bin/env bash
# Benchmark (issue 19): sections too large for the memory budget run on bricks.
#   [MEDIAN=0] scripts/bench-bricks.sh [NZ=96] [repeats=1]     (MEDIAN=0 leaves out the 12-minute median)
# On a 4096×4096×NZ float32 volume (6 GiB at NZ 96, made once in bench-out/), file to file:
#   convert                          the reference: read, compute statistics, write
#   gaussian --sigma 2 (default)     256M: whole sections do not fit (~1.2 GiB), so bricks
#   gaussian --sigma 2 --memory 2G   whole sections (slab mode), for the time bricks cost
#   median --size 3 (default)        bricks
#   gaussian | bin (default, pipes)  bricks in both processes, the first spooling its stdin
# Peak RSS comes from /usr/bin/time -v and must stay within the budget, not grow with the section.
source "$(dirname "$0")/lib/bench.sh"
NZ="${1:-96}"
REPEATS="${2:-1}"
bench_binary
BIG="$OUT/wide-4096x4096x$NZ.mrc"
bench_volume "$BIG" 4096 4096 "$NZ"
SIZE=$(stat -c %s "$BIG")
names=(convert gaussian-bricks gaussian-slabs-2G median-bricks gaussian-pipe-bin)
cmds=(
  "'$BIN' convert '$BIG' '$OUT/out-convert.mrc'"
  "'$BIN' gaussian --sigma 2 '$BIG' '$OUT/out-gb.mrc'"
  "'$BIN' gaussian --sigma 2 --memory 2G '$BIG' '$OUT/out-gs.mrc'"
  "'$BIN' median --size 3 '$BIG' '$OUT/out-med.mrc'"
  "'$BIN' gaussian --sigma 2 '$BIG' | '$BIN' bin --factor 2 > '$OUT/out-bin.mrc'"
)
if [ "${MEDIAN:-1}" = 0 ]; then
  unset 'names[3]' 'cmds[3]'
  names=("${names[@]}"); cmds=("${cmds[@]}")
fi
"$BIN" gaussian --verbose --sigma 2 --zrange 0:1 "$BIG" "$OUT/out-plan.mrc" 2>&1 | grep "memory plan" >&2 || true
bench_run "$REPEATS"
bench_table convert
