#!/usr/bin/env bash
# Self2Self with its defaults on real and phantom data, each against its best Gaussian
# (issue 16). Every s2s run uses the same default settings; the wall time (train + predict) is
# printed next to the score.
#
# - real: the benchmark crop of ../shared/data/real (EMPIAR-10499, 128×192×192, 10 Å); the
#   even-tilt half is denoised and scored against the independent odd-tilt half
#   (../shared/tools/n2n_score.py: Pearson correlation, higher is better), next to the best
#   Gaussian over isotropic and anisotropic σ. Other reconstructions of the same series, scored
#   the same way: real-xy (X and Y swapped: tilt axis along X), real-odd (the odd half denoised,
#   scored against the even one), real-b (another crop, 40:168,380:572,60:252, mostly outside the
#   cell), real-c (a larger crop, 160×256×256 at 20:180,100:356,300:556, X and Y swapped),
#   real-d (a crop of the whole depth, 200×256×256 at 0:200,330:586,40:296: split in two
#   windows of 128 sections), real-bin2 (the whole field of view at 20 Å, 100×315×326: two
#   windows of 64), real-full (the whole field of view at 10 Å, 200×630×652, 314 MiB: more than
#   the default --memory, so each window out of core; about 15 minutes);
# - phantoms: tune_tomo, tune_tomo with X and Y swapped, tune_white (psnr_affine against the
#   clean volume, `stdio-filter score`), next to the oracle Gaussian.
# A preview of the real crop (noisy, best Gaussian, s2s) is drawn into bench-out/real-preview.png.
#   bash scripts/bench-s2s-real.sh [real|real-xy|tune_tomo|tune_tomo-xy|tune_white ...]
# S2S_ARGS adds options to every s2s run (for experiments; the table is meant for the defaults).
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
bench_binary
SHARED=../shared
CASES=("${@:-real real-xy real-odd real-b real-c real-d real-bin2 real-full tune_tomo tune_tomo-xy tune_white}")
read -r -a CASES <<< "${CASES[*]}"
read -r -a EXTRA <<< "${S2S_ARGS:-}"

# A real reconstruction's halves (made once; about a minute each).
real_halves() {   # name reconstruct.py-options...
  local dir="$OUT/$1"
  shift
  [ -f "$dir/odd.mrc" ] && return 0
  mkdir -p "$dir"
  python3 "$SHARED/tools/reconstruct.py" "$SHARED/data/real" "$dir" "$@" >&2
}

# A phantom with X and Y swapped (its tilt axis then runs along X).
swapped_phantom() {   # name
  local dir="$OUT/$1-xy"
  [ -f "$dir/noisy.mrc" ] && return 0
  mkdir -p "$dir"
  python3 - "$SHARED/data/$1" "$dir" <<'PY'
import sys, mrcfile, numpy as np
src, dst = sys.argv[1:3]
for name in ("clean", "noisy"):
    with mrcfile.open(f"{src}/{name}.mrc", permissive=True) as m:
        v = np.ascontiguousarray(np.swapaxes(m.data, 1, 2)); size = m.voxel_size.x
    with mrcfile.new(f"{dst}/{name}.mrc", overwrite=True) as o:
        o.set_data(v.astype(np.float32)); o.voxel_size = size
PY
}

n2n() { python3 "$SHARED/tools/n2n_score.py" "$1" "$2" | python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["corr"])'; }
psnr() { "$BIN" score --json --no-ssim "$1" "$2" | python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["psnr_affine"])'; }

# Runs s2s with the defaults on $1 into $2; prints "seconds what-it-did" (masks: the steps
# trained; a back-projection: the split's residual).
run_s2s() {
  local start end log="${2%.mrc}.log" how
  start=$(date +%s.%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "peak RSS %M KiB" -o "$log.rss" "$BIN" s2s "${EXTRA[@]}" "$1" "$2" 2> "$log"
  else
    "$BIN" s2s "${EXTRA[@]}" "$1" "$2" 2> "$log"
  fi
  end=$(date +%s.%N)
  if grep -q "weighted back-projection: denoised" "$log"; then
    # One residual per window of sections (deep tomograms split window by window).
    how="split, residual $(grep -o 'tilts in [0-9.]* s, residual [0-9.]* %' "$log" | grep -o 'residual [0-9.]*' | cut -d' ' -f2 | paste -sd/ -) %"
    if grep -q "out of core" "$log"; then how="$how, out of core"; fi
    if [ -f "$log.rss" ]; then how="$how, peak RSS $(awk '/peak RSS/ { printf "%d", $3 / 1024 }' "$log.rss") MiB"; fi
  else
    how="masks, $(grep -o 'trained [0-9]* steps' "$log" | cut -d' ' -f2) steps"
  fi
  printf '%.0f %s\n' "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$how"
}

echo "| data | method | score | × best Gaussian | wall time |"
echo "|---|---|---:|---:|---:|"
for case in "${CASES[@]}"; do
  case "$case" in
    real|real-xy|real-odd|real-b|real-c|real-d|real-bin2|real-full)
      case "$case" in
        real|real-odd) real_halves real --thickness 200 --crop 36:164,219:411,230:422 ;;
        real-xy) real_halves real-xy --thickness 200 --crop 36:164,219:411,230:422 --transpose-xy ;;
        real-b) real_halves real-b --thickness 200 --crop 40:168,380:572,60:252 ;;
        real-c) real_halves real-c --thickness 200 --crop 20:180,100:356,300:556 --transpose-xy ;;
        real-d) real_halves real-d --thickness 200 --crop 0:200,330:586,40:296 ;;
        real-bin2) real_halves real-bin2 --bin 2 --thickness 100 ;;
        real-full) real_halves real-full --thickness 200 ;;
      esac
      dir="$OUT/${case%-odd}"
      noisy="$dir/even.mrc"; other="$dir/odd.mrc"; tag=""
      if [ "$case" = real-odd ]; then noisy="$dir/odd.mrc"; other="$dir/even.mrc"; tag="-odd"; fi
      echo "| $case | noisy half | $(n2n "$noisy" "$other") | | |"
      read -r best best_sigma < <(bench_best_gaussian "$noisy" "$other" "$dir/gauss-best$tag.mrc")
      echo "| $case | best Gaussian (σ $best_sigma, X×Y×Z) | $best | 1.00× | |"
      read -r seconds how < <(run_s2s "$noisy" "$dir/s2s$tag.mrc")
      corr=$(n2n "$dir/s2s$tag.mrc" "$other")
      echo "| $case | s2s defaults ($how) | **$corr** | $(awk -v a="$corr" -v b="$best" 'BEGIN { printf "%.2f", a / b }')× | $seconds s |"
      grep -E "noise correlation|blind region|tilts about|axis" "$dir/s2s$tag.log" | sed 's/^stdio-filter s2s: /  /' >&2 || true
      if [ "$case" = real ]; then
        "$BIN" preview --quiet --labels "even half,best Gaussian,s2s defaults" "$dir/even.mrc" "$dir/gauss-best.mrc" "$dir/s2s.mrc" "$OUT/real-preview.png"
      fi
      ;;
    *)
      phantom="$case"
      if [ "${case%-xy}" != "$case" ]; then swapped_phantom "${case%-xy}"; data="$OUT/$case"; else data="$SHARED/data/$case"; fi
      echo "| $phantom | noisy | $(psnr "$data/clean.mrc" "$data/noisy.mrc") dB | | |"
      best=0; best_sigma=""
      for sigma in 0.5 0.75 1 1.25 1.5 2; do
        "$BIN" gaussian --quiet --sigma "$sigma" "$data/noisy.mrc" "$OUT/gauss.mrc"
        p=$(psnr "$data/clean.mrc" "$OUT/gauss.mrc")
        if awk -v a="$p" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$p; best_sigma=$sigma; fi
      done
      echo "| $phantom | oracle Gaussian (σ $best_sigma) | $best dB | | |"
      out="$OUT/s2s-$phantom.mrc"
      read -r seconds how < <(run_s2s "$data/noisy.mrc" "$out")
      echo "| $phantom | s2s defaults ($how) | **$(psnr "$data/clean.mrc" "$out") dB** | | $seconds s |"
      grep -E "blind region" "${out%.mrc}.log" | sed 's/^stdio-filter s2s: /  /' >&2
      ;;
  esac
done
