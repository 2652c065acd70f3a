#!/usr/bin/env bash
# Benchmark (issue 19): peak RSS of `s2s --model` on a 4096×4096×NZ float32 volume (6 GiB at
# NZ 96) at the default budget (512M), where whole sections need ~5.7 GiB: bricks.
#   BRICKS=3 scripts/bench-bricks-s2s.sh [NZ=96]
# The model is trained once on a small synthetic volume (20 steps: memory does not depend on
# the number). Prediction of the whole volume takes over an hour on 2 cores and every brick is
# one allocation cycle (its nodes are made and freed), so the run is stopped once BRICKS bricks
# are done; the peak resident set so far (VmHWM, sampled every second) and s2s's own estimate
# of the time left are reported.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
NZ="${1:-96}"
BRICKS="${BRICKS:-3}"
bench_binary
BIG="$OUT/wide-4096x4096x$NZ.mrc"
bench_volume "$BIG" 4096 4096 "$NZ"
MODEL="$OUT/s2s-wide-model.safetensors"
if [ ! -f "$MODEL" ]; then
  "$BIN" synth --quiet --size 128x128x64 --noise white --snr 1 "$OUT/s2s-wide-train.mrc"
  "$BIN" s2s --quiet --steps 20 --save-model "$MODEL" "$OUT/s2s-wide-train.mrc" "$OUT/s2s-wide-train-out.mrc"
fi
LOG="$OUT/s2s-wide.log"
start=$(date +%s)
"$BIN" s2s --verbose --model "$MODEL" "$BIG" "$OUT/out-s2s-wide.mrc" 2> "$LOG" &
PID=$!
peak=0
while kill -0 "$PID" 2> /dev/null; do
  hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$PID/status" 2> /dev/null || echo 0)
  [ -n "$hwm" ] && [ "$hwm" -gt "$peak" ] && peak=$hwm
  # Sections done over all bricks (progress lines "s2s (64 bricks): x% (k/total sections)").
  done_sections=$(grep -o '([0-9]*/[0-9]* sections)' "$LOG" | tail -n 1 | tr -dc '0-9/' | cut -d/ -f1 || true)
  if [ -n "$done_sections" ] && [ "$done_sections" -ge $((BRICKS * NZ)) ]; then kill "$PID"; break; fi
  sleep 1
done
wait "$PID" 2> /dev/null || true
grep "memory plan" "$LOG" | head -n 1
echo "s2s --model (default --memory 512M) on 4096×4096×$NZ: peak RSS $((peak / 1024)) MiB over the prepass and $BRICKS bricks ($(( $(date +%s) - start )) s)"
grep -o "predicting: [^,]*, [^ ]* min [0-9]* s left" "$LOG" | tail -n 1 || true
