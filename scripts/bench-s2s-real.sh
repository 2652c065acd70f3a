#!/usr/bin/env bash
# Self2Self with its defaults on real and phantom data, each against its best Gaussian
# (issue 16). Every s2s run uses the same default settings; the wall time (train + predict) is
# printed next to the score.
#
# - real: the benchmark crop of ../shared/data/real (EMPIAR-10499, 128×192×192, 10 Å) and the
#   same crop with X and Y swapped (tilt axis along X); the even-tilt half is denoised and scored
#   against the independent odd-tilt half (../shared/tools/n2n_score.py: Pearson correlation,
#   higher is better), next to the best Gaussian over isotropic and anisotropic σ;
# - phantoms: tune_tomo, tune_tomo with X and Y swapped, tune_white (psnr_affine against the
#   clean volume, `stdio-filter score`), next to the oracle Gaussian.
# A preview of the real crop (noisy, best Gaussian, s2s) is drawn into bench-out/real-preview.png.
#   bash scripts/bench-s2s-real.sh [real|real-xy|tune_tomo|tune_tomo-xy|tune_white ...]
# S2S_ARGS adds options to every s2s run (for experiments; the table is meant for the defaults).
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
swift build -c release --product stdio-filter 2>&1 | tail -n 1 >&2
BIN="$(swift build -c release --show-bin-path)/stdio-filter"
SHARED=../shared
CASES=("${@:-real real-xy tune_tomo tune_tomo-xy tune_white}")
read -r -a CASES <<< "${CASES[*]}"
read -r -a EXTRA <<< "${S2S_ARGS:-}"

# The real crop's halves (reconstructed once; about a minute each).
real_halves() {   # name transpose-flag
  local dir="$OUT/$1"
  [ -f "$dir/odd.mrc" ] && return 0
  mkdir -p "$dir"
  python3 "$SHARED/tools/reconstruct.py" "$SHARED/data/real" "$dir" --thickness 200 --crop 36:164,219:411,230:422 ${2:+"$2"} >&2
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

# Runs s2s with the defaults on $1 into $2; prints "seconds steps".
run_s2s() {
  local start end
  start=$(date +%s.%N)
  "$BIN" s2s "${EXTRA[@]}" "$1" "$2" 2> "${2%.mrc}.log"
  end=$(date +%s.%N)
  printf '%.0f %s\n' "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$(grep -o 'trained [0-9]* steps' "${2%.mrc}.log" | cut -d' ' -f2)"
}

echo "| data | method | score | × best Gaussian | wall time |"
echo "|---|---|---:|---:|---:|"
for case in "${CASES[@]}"; do
  case "$case" in
    real|real-xy)
      real_halves "$case" "$([ "$case" = real-xy ] && echo --transpose-xy)"
      dir="$OUT/$case"
      echo "| $case | noisy even half | $(n2n "$dir/even.mrc" "$dir/odd.mrc") | | |"
      read -r best best_sigma < <(bench_best_gaussian "$dir/even.mrc" "$dir/odd.mrc" "$dir/gauss-best.mrc")
      echo "| $case | best Gaussian (σ $best_sigma, X×Y×Z) | $best | 1.00× | |"
      read -r seconds steps < <(run_s2s "$dir/even.mrc" "$dir/s2s.mrc")
      corr=$(n2n "$dir/s2s.mrc" "$dir/odd.mrc")
      echo "| $case | s2s defaults ($steps steps) | **$corr** | $(awk -v a="$corr" -v b="$best" 'BEGIN { printf "%.2f", a / b }')× | $seconds s |"
      grep -E "noise correlation|blind region" "$dir/s2s.log" | sed 's/^stdio-filter s2s: /  /' >&2
      if [ "$case" = real ]; then
        "$BIN" preview --quiet "$dir/even.mrc" "$dir/gauss-best.mrc" "$dir/s2s.mrc" "$OUT/real-preview.png"
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
      read -r seconds steps < <(run_s2s "$data/noisy.mrc" "$out")
      echo "| $phantom | s2s defaults ($steps steps) | **$(psnr "$data/clean.mrc" "$out") dB** | | $seconds s |"
      grep -E "blind region" "${out%.mrc}.log" | sed 's/^stdio-filter s2s: /  /' >&2
      ;;
  esac
done
