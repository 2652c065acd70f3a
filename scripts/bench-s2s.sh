#!/usr/bin/env bash
# Self2Self settings table: quality (stdio-filter score, psnr_affine against the clean volume) of
# mask kinds, ensemble sizes and tiles on the tuning phantoms of ../shared/data.
#
# Training runs use a fixed number of steps (STEPS, default 900: what 7 minutes give on 2 cores),
# so their quality does not depend on how busy the machine is; the seconds per step and the wall
# times are printed for the record. Prediction-only variants reuse the model of the default run.
#   bash scripts/bench-s2s.sh [tune_tomo|tune_white ...]
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
bench_binary
DATA=../shared/data
STEPS="${STEPS:-900}"
PHANTOMS=("${@:-tune_tomo}")

score() { "$BIN" score --json --no-ssim "$DATA/$1/clean.mrc" "$2" | python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["psnr_affine"])'; }

run_case() {   # phantom name args...
  local phantom="$1" name="$2"; shift 2
  local out="$OUT/s2s-$phantom-$name.mrc" log="$OUT/s2s-$phantom-$name.log"
  local start end
  start=$(date +%s.%N)
  "$BIN" s2s "$@" "$DATA/$phantom/noisy.mrc" "$out" 2> "$log"
  end=$(date +%s.%N)
  local per_step
  per_step=$(grep -o '[0-9.]* s/step' "$log" | tail -n 1 | cut -d' ' -f1)
  printf '| %s | %s | %s dB | %.0f s | %s |\n' "$phantom" "$name" "$(score "$phantom" "$out")" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "${per_step:--}"
}

echo "| phantom | settings | psnr_affine | wall time | s/step |"
echo "|---|---|---:|---:|---:|"
for p in "${PHANTOMS[@]}"; do
  model="$OUT/s2s-$p-default.safetensors"
  fixed=(--steps "$STEPS" --train-minutes 1000)
  run_case "$p" "default (mask auto, $STEPS steps)" "${fixed[@]}" --save-model "$model"
  run_case "$p" "mask xline 5" "${fixed[@]}" --mask xline
  run_case "$p" "mask point" "${fixed[@]}" --mask point
  run_case "$p" "mask block 2" "${fixed[@]}" --mask block
  run_case "$p" "mask mixed (point or block 2)" "${fixed[@]}" --mask mixed
  for n in 1 4 16; do run_case "$p" "default model, $n samples" --model "$model" --samples "$n"; done
  run_case "$p" "default model, tile 64 halo 8" --model "$model" --tile 64 --halo 8
  run_case "$p" "default model, tile 32 halo 16" --model "$model" --tile 32 --halo 16
done
