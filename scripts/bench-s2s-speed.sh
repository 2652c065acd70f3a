#!/usr/bin/env bash
# s2s prediction speed and quality (issue 18): one model trained once per volume, then the same
# model predicted in each setting, timed, with its peak RSS and its quality.
#
# - Speed: a 512×512×128 synthetic tomogram (`synth`, tomographic noise, SNR 0.1, its clean volume
#   kept). Each setting predicts one row of tiles (--zrange 32:64, 8.4 M output voxels; --model and
#   --stats, so nothing but those sections is read) and reports µs per output voxel, the peak RSS
#   and the ratio to the ensemble of 48³ blocks (the prediction before issue 18). PyTorch runs the
#   same network (../shared/tools/torch_s2s3d.py) on a 48³ block in the same run: its forward time
#   per block voxel is the reference of the "vs torch" column (skipped when PyTorch is missing).
# - Quality: the tuning phantoms of ../shared/data (tune_tomo, tune_white), trained once each
#   (STEPS fixed steps), predicted with the ensemble and with the distilled network; psnr_affine
#   against their clean volumes.
# - END_TO_END=1 adds the whole default run (train + distil + predict) on a synthetic
#   1024×1024×256 tomogram (1 GiB) at the default memory budget: wall time and peak RSS.
#
#   bash scripts/bench-s2s-speed.sh            # STEPS=1500 by default
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
swift build -c release --product stdio-filter 2>&1 | tail -n 1 >&2
DIR="$OUT/s2s-speed"
mkdir -p "$DIR"
# A copy, so a rebuild during a long run does not change the binary under it.
cp "$(swift build -c release --show-bin-path)/stdio-filter" "$DIR/stdio-filter"
BIN="$DIR/stdio-filter"
DATA=../shared/data
STEPS="${STEPS:-1500}"
fixed=(--steps "$STEPS" --train-minutes 1000)

psnr() { "$BIN" score --json --no-ssim "$1" "$2" | python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["psnr_affine"])'; }

# --- Speed on the 512×512×128 tomogram -------------------------------------------------------
VOL="$DIR/tomo-512.mrc" CLEAN="$DIR/tomo-512-clean.mrc"
[ -f "$VOL" ] || "$BIN" synth --quiet --size 512x512x128 --seed 5 --snr 0.1 --noise tomographic --clean "$CLEAN" "$VOL"
"$BIN" stats --json "$VOL" > "$DIR/tomo-512-stats.json"
# The teacher (the ensemble's network) is trained once; the student is distilled from it on
# first use (`--model` of a model without one, `--save-model` keeps both), as the default run does
# right after training.
TEACHER="$DIR/tomo-512-teacher.safetensors" MODEL="$DIR/tomo-512.safetensors"
if [ ! -f "$TEACHER" ]; then
  echo "training on $VOL ($STEPS steps)..." >&2
  "$BIN" s2s "${fixed[@]}" --distill 0 --save-model "$TEACHER" --zrange 0:32 "$VOL" "$DIR/train-part.mrc" 2> "$DIR/tomo-512-train.log"
fi
if [ ! -f "$MODEL" ]; then
  "$BIN" s2s --model "$TEACHER" --save-model "$MODEL" --zrange 0:32 "$VOL" "$DIR/train-part.mrc" 2> "$DIR/tomo-512-distill.log"
fi
grep -hE "trained|distilled|ensemble predictions" "$DIR/tomo-512-train.log" "$DIR/tomo-512-distill.log" | sed 's/^stdio-filter s2s: /  /'

TORCH_US=""
if python3 -c 'import torch' 2> /dev/null; then
  python3 ../shared/tools/torch_s2s3d.py bench --nets lite --sizes 48 --threads 2 --reps 5 --out "$DIR/torch.json" > /dev/null
  TORCH_US=$(python3 -c "import json; c = json.load(open('$DIR/torch.json'))['cases'][0]; print(c['fwd_ms_median'] * 1000 / 48**3)")
  echo "PyTorch $(python3 -c 'import torch; print(torch.__version__)'), lite net, one 48³ block: $(awk -v u="$TORCH_US" 'BEGIN { printf "%.2f", u }') µs per block voxel"
else
  echo "PyTorch is not installed (pip install torch): no torch column" >&2
fi

names=(); cmds=()
add() { local m="$MODEL"; case "$2" in *"--distill 0"*) m="$TEACHER" ;; esac
  names+=("$1"); cmds+=("'$BIN' s2s --quiet --model '$m' --stats '$DIR/tomo-512-stats.json' --zrange 32:64 $2 '$VOL' '$DIR/out-$((${#names[@]}))'.mrc"); }
add "ensemble, 48³ blocks (before)" "--distill 0 --tile-xy 32"
add "ensemble, 80×80×48 blocks" "--distill 0"
add "distilled, 48³ blocks" "--tile-xy 32"
add "distilled, 80×80×48 blocks (default)" ""
VOXELS=$((512 * 512 * 32))
printf "| setting | seconds | µs per output voxel | peak RSS | speed-up | vs PyTorch forward |\n|---|---:|---:|---:|---:|---:|\n"
declare -A secs rss
for i in "${!names[@]}"; do
  read -r t m < <(bench_measure "${cmds[$i]}")
  secs[$i]=$t; rss[$i]=$m
done
for i in "${!names[@]}"; do
  awk -v n="${names[$i]}" -v t="${secs[$i]}" -v m="${rss[$i]}" -v v="$VOXELS" -v r="${secs[0]}" -v u="${TORCH_US:-0}" \
    'BEGIN { us = t * 1e6 / v; printf "| %s | %.1f | %.2f | %.0f MiB | %.2fx | %s |\n", n, t, us, m / 1024, r / t, (u > 0 ? sprintf("%.2fx", us / u) : "-") }'
done
rm -f "$DIR"/out-*.mrc

# --- Quality on the phantoms ------------------------------------------------------------------
echo
echo "| phantom | ensemble (8 passes, 48³) | distilled (1 pass, default blocks) | difference |"
echo "|---|---:|---:|---:|"
for p in tune_tomo tune_white; do
  teacher="$DIR/$p-teacher.safetensors"
  [ -f "$teacher" ] || "$BIN" s2s "${fixed[@]}" --distill 0 --save-model "$teacher" "$DATA/$p/noisy.mrc" "$DIR/$p-ensemble.mrc" 2> "$DIR/$p-train.log"
  "$BIN" s2s --quiet --model "$teacher" --distill 0 --tile-xy 32 "$DATA/$p/noisy.mrc" "$DIR/$p-ensemble.mrc"
  "$BIN" s2s --model "$teacher" --save-model "$DIR/$p.safetensors" "$DATA/$p/noisy.mrc" "$DIR/$p-distilled.mrc" 2> "$DIR/$p-distill.log"
  a=$(psnr "$DATA/$p/clean.mrc" "$DIR/$p-ensemble.mrc") b=$(psnr "$DATA/$p/clean.mrc" "$DIR/$p-distilled.mrc")
  echo "| $p | $a dB | $b dB | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%+.2f dB", b - a }') |"
done
grep -h "distilled" "$DIR"/tune_*-distill.log | sed 's/^stdio-filter s2s: /  /'

# --- End to end on 1024×1024×256 ----------------------------------------------------------------
if [ "${END_TO_END:-0}" = 1 ]; then
  BIG="$DIR/tomo-1024.mrc"
  [ -f "$BIG" ] || "$BIN" synth --quiet --size 1024x1024x256 --seed 6 --snr 0.1 --noise tomographic "$BIG"
  read -r t m < <(bench_measure "'$BIN' s2s '$BIG' '$DIR/tomo-1024-out.mrc' 2> '$DIR/tomo-1024.log'")
  grep -E "estimate|trained|distilled" "$DIR/tomo-1024.log" | sed 's/^stdio-filter s2s: /  /'
  awk -v t="$t" -v m="$m" 'BEGIN { printf "end to end, s2s defaults on 1024×1024×256 (1 GiB): %.1f min, peak RSS %.0f MiB\n", t / 60, m / 1024 }'
  rm -f "$DIR/tomo-1024-out.mrc"
fi
