#!/usr/bin/env bash
# Real-data denoising judged against a truth (issue 35): back-projected phantoms whose specimen is
# known, the full reconstruction as the input (what users denoise).
#
# Each phantom is `synth --tilt-series` (a cell projected at a tilt scheme, shot noise at the
# dose, WBP): the specimen, the noise-free WBP of all tilts, the full WBP, its even/odd-tilt halves
# and its frame halves. The dose default matches the real series of ../shared/data/real (halves'
# correlation and noise correlations: docs/benchmarks.md); "x3" phantoms have three times the noise
# variance (a third of the dose).
#
# Every path runs on the full reconstruction, with the default settings (n2n on the halves the
# phantom writes); each output is scored by
#   - Pearson correlation with the specimen (affine-invariant),
#   - psnr_affine against the noise-free reconstruction of all tilts,
# each next to the best Gaussian for that truth (σ chosen with the truth itself, over isotropic
# and anisotropic σ: what no user can do), as a ratio (correlation) or a difference (dB).
# The log of each s2s run says which path it took (masks, split, filter).
#
#   bash scripts/bench-truth.sh [PHANTOM ...]        # default: crop crop-x3
#   PATHS="default n2n-tilts n2n-frames" bash scripts/bench-truth.sh crop
# Phantoms: crop (192×192×128, ±60° at 3°, seed 21), crop-x3 (the same at a third of the dose),
# wide (384×192×256, ±45° at 2°, seed 22: planes large enough to split 46 tilts), wide-x3.
# Paths: default (s2s as a user runs it), masks (s2s --tilts none), split (s2s --tilts given),
# filter (s2s --tilts given --split-refine filter), n2n-tilts, n2n-frames.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
bench_binary
PHANTOMS=("${@:-crop crop-x3}")
read -r -a PHANTOMS <<< "${PHANTOMS[*]}"
read -r -a PATHS_RUN <<< "${PATHS:-default masks split filter n2n-tilts n2n-frames}"
SIGMAS=(0.5 1 1.5 2 3 4 1x1x2 2x2x4 3x3x6 2x2x6 3x3x8 4x4x8)

# Prints "pearson-with-specimen psnr_affine-against-noise-free" for a volume.
scores() {   # dir volume
  local s n
  s=$("$BIN" score --memory 4G --json --no-ssim "$1/specimen.mrc" "$2" | python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["pearson"])')
  n=$("$BIN" score --memory 4G --json --no-ssim "$1/noise-free.mrc" "$2" | python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["psnr_affine"])')
  echo "$s $n"
}

echo "| phantom | output (input: the full WBP) | path taken | corr with specimen (× best Gaussian) | psnr_affine vs noise-free WBP (− best Gaussian) | wall time |"
echo "|---|---|---|---:|---:|---:|"
for phantom in "${PHANTOMS[@]}"; do
  case "${phantom%-x3}" in
    crop) geometry=(--size 192x192x128 --tilt-series -60:60:3 --seed 21); tilts=-60:60:3 ;;
    wide) geometry=(--size 384x192x256 --tilt-series -45:45:2 --seed 22); tilts=-45:45:2 ;;
    *) echo "unknown phantom $phantom" >&2; exit 64 ;;
  esac
  dose=()
  [ "${phantom%-x3}" != "$phantom" ] && dose=(--dose 0.9767)
  dir="$OUT/truth-$phantom"
  mkdir -p "$dir"
  [ -f "$dir/odd-frames.mrc" ] || "$BIN" synth --quiet "${geometry[@]}" "${dose[@]}" "$dir/full.mrc" --clean "$dir/noise-free.mrc" \
    --specimen "$dir/specimen.mrc" --tilt-halves "$dir/even-tilts.mrc,$dir/odd-tilts.mrc" --frame-halves "$dir/even-frames.mrc,$dir/odd-frames.mrc"
  read -r s0 n0 < <(scores "$dir" "$dir/full.mrc")
  # The best Gaussian for each truth.
  best_s=0; best_n=-99; sigma_s=; sigma_n=
  declare -A gauss_s=() gauss_n=()
  for sigma in "${SIGMAS[@]}"; do
    "$BIN" gaussian --quiet --sigma "$sigma" "$dir/full.mrc" "$dir/g.mrc"
    read -r s n < <(scores "$dir" "$dir/g.mrc")
    gauss_s[$sigma]=$s; gauss_n[$sigma]=$n
    if awk -v a="$s" -v b="$best_s" 'BEGIN { exit !(a > b) }'; then best_s=$s; sigma_s=$sigma; fi
    if awk -v a="$n" -v b="$best_n" 'BEGIN { exit !(a > b) }'; then best_n=$n; sigma_n=$sigma; fi
  done
  rm -f "$dir/g.mrc"
  row() {   # label path s n seconds
    printf '| %s | %s | %s | %s (%.2f×) | %s (%+.2f dB) | %s |\n' "$phantom" "$1" "$2" "$3" \
      "$(awk -v a="$3" -v b="$best_s" 'BEGIN { print a / b }')" "$4" "$(awk -v a="$4" -v b="$best_n" 'BEGIN { print a - b }')" "$5"
  }
  row "noisy input" "" "$s0" "$n0" ""
  row "best Gaussian for the specimen (σ $sigma_s)" "" "$best_s" "${gauss_n[$sigma_s]}" ""
  row "best Gaussian for the noise-free WBP (σ $sigma_n)" "" "${gauss_s[$sigma_n]}" "$best_n" ""
  for path in "${PATHS_RUN[@]}"; do
    out="$dir/$path.mrc"; log="$dir/$path.log"
    case "$path" in
      default) args=(s2s "$dir/full.mrc" "$out") ;;
      masks) args=(s2s --tilts none "$dir/full.mrc" "$out") ;;
      split) args=(s2s --tilts "$tilts" "$dir/full.mrc" "$out") ;;
      filter) args=(s2s --tilts "$tilts" --split-refine filter "$dir/full.mrc" "$out") ;;
      n2n-tilts) args=(n2n "$dir/even-tilts.mrc" "$dir/odd-tilts.mrc" "$out") ;;
      n2n-frames) args=(n2n "$dir/even-frames.mrc" "$dir/odd-frames.mrc" "$out") ;;
      *) echo "unknown path $path" >&2; exit 64 ;;
    esac
    start=$(date +%s.%N)
    if ! "$BIN" "${args[@]}" 2> "$log"; then
      printf '| %s | %s | refused: %s | | | |\n' "$phantom" "$path" "$(tail -n 1 "$log" | cut -c1-120)"
      continue
    fi
    seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f s", b - a }')
    # Which path s2s took, from its log (masks, or the split with its network or its filter).
    if grep -q "s2s: masks" "$log"; then taken=masks
    elif grep -q "split into" "$log"; then taken="split, $( [ "$path" = filter ] && echo filter || echo network)"
    else taken="$path"; fi
    read -r s n < <(scores "$dir" "$out")
    row "$path" "$taken" "$s" "$n" "$seconds"
  done
done
