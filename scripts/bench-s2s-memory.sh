#!/usr/bin/env bash
# Peak RSS of `s2s --preset lite` on a 4 GiB float32 volume at the default --memory.
#
# A synthetic 768×768×1820 tomogram (4.0 GiB) is piped into s2s (so the input is also spooled),
# which reads it for statistics and patches, trains (20 steps: memory does not depend on the
# number), and predicts. Prediction of the whole volume takes many hours on 2 cores, and its
# memory is the same for every row of tiles, so the run is stopped after ROWS rows (default 2;
# each row is one allocation cycle) and the peak resident set so far is reported, sampled from
# /proc every second. For 1024×1024 sections the planner's verdict at the default budget is
# shown (its plan, or the refusal with the amount it needs), printed before any voxel is read.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
bench_binary
ROWS="${ROWS:-2}"
VOL="$OUT/s2s-memory-768x768x1820.mrc"
[ -f "$VOL" ] || "$BIN" synth --quiet --size 768x768x1820 --noise white --snr 1 "$VOL"
echo "input: $VOL ($(stat -c %s "$VOL") bytes)"

LOG="$OUT/s2s-memory.log"
"$BIN" s2s --steps 20 --samples 1 < <(cat "$VOL") > /dev/null 2> "$LOG" &
PID=$!
peak=0
start=$(date +%s)
while kill -0 "$PID" 2> /dev/null; do
  hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$PID/status" 2> /dev/null || echo 0)
  [ -n "$hwm" ] && [ "$hwm" -gt "$peak" ] && peak=$hwm
  # Rows done: progress lines name the row being predicted.
  row=$(grep -o 'row [0-9]*/' "$LOG" | tail -n 1 | tr -dc 0-9 || true)
  if [ -n "$row" ] && [ "$row" -gt "$ROWS" ]; then kill "$PID"; break; fi
  sleep 1
done
wait "$PID" 2> /dev/null || true
echo "s2s (default --memory) on 768×768×1820 from a pipe: peak RSS $((peak / 1024)) MiB over the prepass, training and $ROWS rows of tiles ($(( $(date +%s) - start )) s)"
grep -E "training the|trained|predicting" "$LOG" | head -n 4
echo "1024×1024 sections at the default budget (the plan, printed before reading):"
"$BIN" synth --quiet --size 1024x1024x64 --noise white --snr 1 | timeout 30 "$BIN" s2s --verbose --steps 1 2>&1 >/dev/null \
  | grep -E "memory plan|error" || true
