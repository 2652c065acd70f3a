#!/usr/bin/env bash
# Two-half training (n2n) against Self2Self and the best Gaussian, on the same data (issue 17).
#
# - phantoms (tomo, white): `synth --halves` of a tune-like 128×128×64 cell (seed 11, not the
#   tuning phantoms' seed) at SNR 0.1 per half; n2n trains on the two halves, s2s and the Gaussian
#   see the mean of the halves (the same data); psnr_affine against the clean volume.
# - real: the benchmark crop of ../shared/data/real reconstructed from three thirds of the tilts
#   (tilt index mod 3, scripts/reconstruct.py --parts 3); n2n trains on thirds 0 and 1, s2s and the
#   Gaussian see their sum; every result is scored against the independent third
#   (../shared/tools/n2n_score.py: Pearson correlation, higher is better).
# Training runs a fixed number of steps (STEPS, default 1500: about the default 7 minutes on
# 2 cores) with the same network, batch and patch for both, so the comparison is at the same
# training time and does not depend on how busy the machine is; wall times are printed.
#   bash scripts/bench-n2n.sh [tomo|white|real ...]
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
bench_binary
SHARED=../shared
STEPS="${STEPS:-1500}"
CASES=("${@:-tomo white real}")
read -r -a CASES <<< "${CASES[*]}"
FIXED=(--steps "$STEPS" --train-minutes 1000)

psnr() { "$BIN" score --json --no-ssim "$1" "$2" | python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["psnr_affine"])'; }
corr() { python3 "$SHARED/tools/n2n_score.py" "$1" "$2" | python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["corr"])'; }

# The voxel-wise mean of two volumes (what a single-volume method is given).
mean_of() {   # a b out
  python3 - "$@" <<'PY'
import sys, mrcfile, numpy as np
a, b, out = sys.argv[1:4]
with mrcfile.open(a, permissive=True) as m: va = m.data.astype(np.float32); size = m.voxel_size.x
with mrcfile.open(b, permissive=True) as m: vb = m.data.astype(np.float32)
with mrcfile.new(out, overwrite=True) as o: o.set_data((va + vb) / 2); o.voxel_size = size
PY
}

# Runs `stdio-filter ARGS…` with its log in LOG; prints "seconds steps s/step".
timed() {   # log args...
  local log="$1" start end; shift
  start=$(date +%s.%N)
  "$BIN" "$@" 2> "$log"
  end=$(date +%s.%N)
  printf '%.0f %s %s\n' "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" \
    "$(grep -o 'trained [0-9]* steps' "$log" | cut -d' ' -f2)" "$(grep -o '[0-9.]* s/step' "$log" | tail -n 1 | cut -d' ' -f1)"
}

echo "| data | method | score | wall time (train + predict) | s/step |"
echo "|---|---|---:|---:|---:|"
for case in "${CASES[@]}"; do
  dir="$OUT/n2n-$case"
  mkdir -p "$dir"
  if [ "$case" = real ]; then
    [ -f "$dir/part2.mrc" ] || python3 scripts/reconstruct.py "$SHARED/data/real" "$dir" --parts 3 --thickness 200 --crop 36:164,219:411,230:422 >&2
    a="$dir/part0.mrc"; b="$dir/part1.mrc"; reference="$dir/part2.mrc"; score() { corr "$1" "$reference"; }; unit=""
    sigmas=(1 2 3 5 2x2x4 3x3x6 4x4x8 3x3x8 2x2x6)
  else
    [ -f "$dir/b.mrc" ] || "$BIN" synth --quiet --size 128x128x64 --seed 11 --snr 0.1 --noise "$([ "$case" = tomo ] && echo tomographic || echo white)" \
      "$dir/a.mrc" --halves "$dir/b.mrc" --clean "$dir/clean.mrc"
    a="$dir/a.mrc"; b="$dir/b.mrc"; score() { psnr "$dir/clean.mrc" "$1"; }; unit=" dB"
    sigmas=(0.5 0.75 1 1.25 1.5 2)
  fi
  mean_of "$a" "$b" "$dir/mean.mrc"
  echo "| $case | one half | $(score "$a")$unit | | |"
  echo "| $case | mean of the halves | $(score "$dir/mean.mrc")$unit | | |"
  best=-1000; best_sigma=""
  for sigma in "${sigmas[@]}"; do
    "$BIN" gaussian --quiet --sigma "$sigma" "$dir/mean.mrc" "$dir/gauss.mrc"
    s=$(score "$dir/gauss.mrc")
    if awk -v a="$s" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$s; best_sigma=$sigma; cp "$dir/gauss.mrc" "$dir/gauss-best.mrc"; fi
  done
  echo "| $case | best Gaussian of the mean (σ $best_sigma) | $best$unit | | |"
  read -r seconds steps per < <(timed "$dir/s2s.log" s2s "${FIXED[@]}" "$dir/mean.mrc" "$dir/s2s.mrc")
  echo "| $case | s2s defaults on the mean ($steps steps) | $(score "$dir/s2s.mrc")$unit | $seconds s | $per |"
  read -r seconds steps per < <(timed "$dir/n2n.log" n2n "${FIXED[@]}" --save-model "$dir/n2n.safetensors" "$a" "$b" "$dir/n2n.mrc")
  echo "| $case | **n2n on the two halves** ($steps steps) | **$(score "$dir/n2n.mrc")$unit** | $seconds s | $per |"
  if [ "$case" = real ]; then
    "$BIN" preview --quiet "$dir/mean.mrc" "$dir/gauss-best.mrc" "$dir/s2s.mrc" "$dir/n2n.mrc" "$OUT/n2n-real-preview.png"
  fi
done
