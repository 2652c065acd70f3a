#!/usr/bin/env bash
# Benchmark: the S2S U-Net against the PyTorch reference (../shared/tools/torch_s2s3d.py) on this
# machine, side by side, 2 threads each.
#   scripts/bench-nn.sh [rounds=2]
# Each round runs `stdio-filter bench nn` for lite/full × 32³/64³ (median of 5 after 2 warm-ups)
# and the PyTorch script (the same medians); the best round of each side is kept (this machine's
# timings wander by ±20 % between runs). Prints forward and train-step ms, the speed ratios
# (PyTorch time / ours: above 1 is faster than PyTorch), and the peak RSS of a lite 64³ run.
# PyTorch: `pip install torch` (the script says so and stops when it is missing).
source "$(dirname "$0")/lib/bench.sh"
ROUNDS="${1:-2}"
TORCH_SCRIPT=../shared/tools/torch_s2s3d.py
python3 -c 'import torch' 2>/dev/null || { echo "bench-nn: PyTorch is not installed (pip install torch)" >&2; exit 1; }
bench_binary
CASES=("lite 32" "lite 64" "full 32" "full 64")
declare -A ours_f ours_t torch_f torch_t
keep_min() { local -n table=$1; if [ -z "${table[$2]:-}" ] || awk "BEGIN{exit !($3 < ${table[$2]})}"; then table[$2]=$3; fi; }
for r in $(seq "$ROUNDS"); do
  for c in "${CASES[@]}"; do
    set -- $c
    line=$("$BIN" bench nn --preset "$1" --patch "$2" --iterations 5 --threads 2)
    keep_min ours_f "$c" "$(echo "$line" | sed 's/.*"forward_ms": \([0-9.]*\).*/\1/')"
    keep_min ours_t "$c" "$(echo "$line" | sed 's/.*"train_step_ms": \([0-9.]*\).*/\1/')"
  done
  python3 "$TORCH_SCRIPT" bench --threads 2 --reps 5 --out "$OUT/torch_bench.json" > /dev/null
  while read -r net size f t; do
    keep_min torch_f "$net $size" "$f"; keep_min torch_t "$net $size" "$t"
  done < <(python3 -c "
import json
for c in json.load(open('$OUT/torch_bench.json'))['cases']:
    print(c['net'], c['size'], c['fwd_ms_median'], c['train_ms_median'])")
done
printf "%-10s %12s %12s %8s %14s %14s %8s\n" case "fwd ms" "torch fwd" ratio "train ms" "torch train" ratio
for c in "${CASES[@]}"; do
  awk -v c="$c" -v f="${ours_f[$c]}" -v tf="${torch_f[$c]}" -v t="${ours_t[$c]}" -v tt="${torch_t[$c]}" \
    'BEGIN { printf "%-10s %12.1f %12.1f %7.2fx %14.1f %14.1f %7.2fx\n", c, f, tf, tf/f, t, tt, tt/t }'
done
# Peak RSS of a lite 64³ training run (forward + train steps) on each side.
read -r _ ours_rss < <(bench_measure "'$BIN' bench nn --preset lite --patch 64 --iterations 3 --threads 2 > /dev/null")
read -r _ torch_rss < <(bench_measure "python3 '$TORCH_SCRIPT' bench --nets lite --sizes 64 --threads 2 --reps 3 --out '$OUT/torch_rss.json' > /dev/null")
awk -v o="$ours_rss" -v t="$torch_rss" 'BEGIN { printf "peak RSS, lite 64³ (forward + training): ours %.0f MiB, PyTorch %.0f MiB (%.2fx)\n", o/1024, t/1024, o/t }'
