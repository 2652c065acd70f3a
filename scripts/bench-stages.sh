#!/usr/bin/env bash
# Benchmark: the streaming engine against `convert` (the same I/O without stages), same run.
#   scripts/bench-stages.sh [GiB=4] [repeats=2]
# Cases (file to file, default --memory):
#   convert                     the reference: read, compute statistics, write
#   gaussian --sigma 0          a stage that copies: the engine's own cost (rings, padding, threads)
#   crop (whole volume)         a shape stage that copies
#   gaussian --sigma 2          a 17-tap separable filter along every axis
#   gaussian | bin (pipes)      two processes joined by a pipe
# Peak RSS comes from /usr/bin/time -v; it is bounded by --memory, not by the volume.
source "$(dirname "$0")/lib/bench.sh"
GIB="${1:-4}"
REPEATS="${2:-2}"
bench_setup "$GIB"
NZ=$(( SIZE / (1024 * 1024 * 4) ))
names=(convert gaussian-sigma0 crop-all gaussian-sigma2 gaussian-pipe-bin)
cmds=(
  "'$BIN' convert '$BIG' '$OUT/out-convert.mrc'"
  "'$BIN' gaussian --sigma 0 '$BIG' '$OUT/out-g0.mrc'"
  "'$BIN' crop --z 0..$NZ '$BIG' '$OUT/out-crop.mrc'"
  "'$BIN' gaussian --sigma 2 '$BIG' '$OUT/out-g2.mrc'"
  "'$BIN' gaussian --sigma 2 '$BIG' | '$BIN' bin --factor 2 > '$OUT/out-gb.mrc'"
)
bench_run "$REPEATS"
bench_table convert
