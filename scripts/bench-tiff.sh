#!/usr/bin/env bash
# Benchmark: TIFF reading and writing against MRC in the same run (peak RSS and throughput).
#   scripts/bench-tiff.sh [GiB=2] [repeats=2]
# Cases: MRC → MRC (the reference), MRC → TIFF, TIFF → MRC (the issue's ≤ 96 MiB peak RSS),
# TIFF on stdin → MRC (spooled to $TMPDIR first).
source "$(dirname "$0")/lib/bench.sh"
GIB="${1:-2}"
REPEATS="${2:-2}"
bench_setup "$GIB"
TIF="$OUT/big-${GIB}g.tif"
[ -f "$TIF" ] || "$BIN" convert --quiet "$BIG" "$TIF"
names=(mrc-to-mrc mrc-to-tiff tiff-to-mrc tiff-stdin-to-mrc)
cmds=(
  "'$BIN' convert --quiet '$BIG' '$OUT/out-a.mrc'"
  "'$BIN' convert --quiet '$BIG' '$OUT/out-b.tif'"
  "'$BIN' convert --quiet '$TIF' '$OUT/out-c.mrc'"
  "cat '$TIF' | '$BIN' convert --quiet - '$OUT/out-d.mrc'"
)
bench_run "$REPEATS"
rm -f "$OUT"/out-*.tif
bench_table mrc-to-mrc
