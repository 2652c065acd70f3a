#!/usr/bin/env bash
# Real tomograms denoised from one volume: `split-tilts` recovers the reconstructions of
# alternate tilts from a weighted back-projection, `s2s --tilts` filters the tomogram with the
# spectrum the two share (issue 16).
# Every result is scored against tilts the denoiser never saw (../shared/tools/n2n_score.py,
# Pearson correlation, higher is better), next to the best Gaussian of the same input:
#
# - real:     the README's benchmark crop of ../shared/data/real (EMPIAR-10499, 128×192×192,
#             10 Å), the even-tilt half (21 tilts) denoised, scored against the odd half; and
#             how close its split comes to the true reconstructions of tilts 0, 4, 8… and 2, 6, 10…
# - real-xy:  the same with X and Y swapped (tilt axis along X);
# - thirds:   the tomogram of two thirds of the tilts (index mod 3 = 0 or 1, 28 tilts) denoised,
#             scored against the last third; next to n2n on the two true thirds (issue 17).
# n2n on the true thirds trains a fixed STEPS (default 1500, about the 7-minute default on 2
# cores) so the table does not depend on load. Previews go to bench-out/split-tilts-*.png.
#   bash scripts/bench-split-tilts.sh [real|real-xy|thirds ...]
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
bench_binary
SHARED=../shared
STEPS=${STEPS:-1500}
CASES=("${@:-real real-xy thirds}")
read -r -a CASES <<< "${CASES[*]}"
DIR="$OUT/split-tilts"
mkdir -p "$DIR"
TLT="$SHARED/data/real/00254.tlt"
CROP=(--thickness 200 --crop 36:164,219:411,230:422)

score() { python3 "$SHARED/tools/n2n_score.py" "$1" "$2" | python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["corr"])'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
seconds_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }'; }

# Correlation of two volumes, optionally with the second's X and Y swapped.
correlation() {
  python3 - "$@" <<'PY'
import sys, mrcfile, numpy as np
a = mrcfile.read(sys.argv[1]).astype(np.float64); b = mrcfile.read(sys.argv[2]).astype(np.float64)
if len(sys.argv) > 3: b = b.transpose(0, 2, 1)
print("%.4f" % np.corrcoef(a.ravel(), b.ravel())[0, 1])
PY
}

# s2s --tilts on $1 with the angles in $2 into $3; prints "seconds residual".
run_split_s2s() {
  local start
  start=$(date +%s.%N)
  "$BIN" s2s --tilts "$2" "$1" "$3" 2> "${3%.mrc}.log"
  echo "$(seconds_since "$start") $(grep -o 'residual [0-9.]* %' "${3%.mrc}.log" | tail -1 | cut -d' ' -f2)"
}

echo "| data | method | corr | × best Gaussian | wall time |"
echo "|---|---|---:|---:|---:|"
for case in "${CASES[@]}"; do
  case "$case" in
    real|real-xy)
      d="$DIR/$case"
      mkdir -p "$d"
      flag=$([ "$case" = real-xy ] && echo --transpose-xy || true)
      [ -f "$d/part3.mrc" ] || python3 scripts/reconstruct.py "$SHARED/data/real" "$d" --parts 4 "${CROP[@]}" $flag >&2
      [ -f "$d/odd.mrc" ] || python3 "$SHARED/tools/reconstruct.py" "$SHARED/data/real" "$d" "${CROP[@]}" $flag >&2
      awk 'NR % 2 == 1' "$TLT" > "$d/even.tlt"
      "$BIN" split-tilts --quiet --tilts "$d/even.tlt" "$d/even.mrc" "$d/split-a.mrc" "$d/split-b.mrc"
      echo "| $case | split-tilts of the even half vs the true reconstructions of its alternate tilts | $(correlation "$d/split-a.mrc" "$d/part0.mrc"), $(correlation "$d/split-b.mrc" "$d/part2.mrc") | | |"
      echo "| $case | noisy even half | $(score "$d/even.mrc" "$d/odd.mrc") | | |"
      read -r best sigma < <(bench_best_gaussian "$d/even.mrc" "$d/odd.mrc" "$d/gauss-best.mrc")
      echo "| $case | best Gaussian (σ $sigma, X×Y×Z) | $best | 1.00× | |"
      read -r seconds residual < <(run_split_s2s "$d/even.mrc" "$d/even.tlt" "$d/s2s-tilts.mrc")
      corr=$(score "$d/s2s-tilts.mrc" "$d/odd.mrc")
      echo "| $case | **s2s --tilts** (split residual $residual %) | **$corr** | $(ratio "$corr" "$best")× | $seconds s |"
      [ "$case" = real ] && "$BIN" preview --quiet --labels "even half,best Gaussian,s2s --tilts" "$d/even.mrc" "$d/gauss-best.mrc" "$d/s2s-tilts.mrc" "$OUT/split-tilts-real.png"
      ;;
    thirds)
      d="$DIR/thirds"
      mkdir -p "$d"
      [ -f "$d/part2.mrc" ] || python3 scripts/reconstruct.py "$SHARED/data/real" "$d" --parts 3 "${CROP[@]}" >&2
      awk 'NR % 3 != 0' "$TLT" > "$d/two-thirds.tlt"
      python3 - "$d" <<'PY'
import sys, mrcfile, numpy as np
d = sys.argv[1]
v = mrcfile.read(f"{d}/part0.mrc").astype(np.float64) + mrcfile.read(f"{d}/part1.mrc")
with mrcfile.new(f"{d}/two-thirds.mrc", overwrite=True) as m:
    m.set_data(((v - v.mean()) / v.std()).astype(np.float32)); m.voxel_size = 10
PY
      echo "| thirds | noisy tomogram of thirds 0 and 1 | $(score "$d/two-thirds.mrc" "$d/part2.mrc") | | |"
      read -r best sigma < <(bench_best_gaussian "$d/two-thirds.mrc" "$d/part2.mrc" "$d/gauss-best.mrc")
      echo "| thirds | best Gaussian (σ $sigma, X×Y×Z) | $best | 1.00× | |"
      start=$(date +%s.%N)
      "$BIN" n2n --quiet --steps "$STEPS" --train-minutes 1000 "$d/part0.mrc" "$d/part1.mrc" "$d/n2n-true.mrc"
      corr=$(score "$d/n2n-true.mrc" "$d/part2.mrc")
      echo "| thirds | n2n on the two true thirds (two volumes) | $corr | $(ratio "$corr" "$best")× | $(seconds_since "$start") s |"
      read -r seconds residual < <(run_split_s2s "$d/two-thirds.mrc" "$d/two-thirds.tlt" "$d/s2s-tilts.mrc")
      corr=$(score "$d/s2s-tilts.mrc" "$d/part2.mrc")
      echo "| thirds | **s2s --tilts** on the one tomogram (split residual $residual %) | **$corr** | $(ratio "$corr" "$best")× | $seconds s |"
      "$BIN" preview --quiet --labels "tomogram (28 tilts),best Gaussian,s2s --tilts" "$d/two-thirds.mrc" "$d/gauss-best.mrc" "$d/s2s-tilts.mrc" "$OUT/split-tilts-thirds.png"
      ;;
    *) echo "unknown case $case (real, real-xy, thirds)" >&2; exit 64 ;;
  esac
done
