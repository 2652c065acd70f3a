#!/usr/bin/env bash
# Start-up cost of commands that build a chain but run no stage (issue 21, item 5): `plan` and a
# refused usage with s2s in the chain against the same with gaussian, and `list`, each run REPEATS
# times (default 20) in the same script; the mean wall time per run and the ratio s2s / gaussian.
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
bench_binary
REPEATS="${REPEATS:-20}"
VOL="$OUT/startup.mrc"
[ -f "$VOL" ] || "$BIN" synth --quiet --size 64x64x32 "$VOL"

mean_seconds() {   # command...
  local start end
  start=$(date +%s.%N)
  for _ in $(seq "$REPEATS"); do "$@" > /dev/null 2>&1 || true; done
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" -v n="$REPEATS" 'BEGIN { printf "%.4f", (b - a) / n }'
}

printf "| command | s2s in the chain | gaussian in the chain | ratio |\n|---|---:|---:|---:|\n"
for case in plan usage; do
  if [ "$case" = plan ]; then
    a=$(mean_seconds "$BIN" plan --parts 4 --chain s2s "$VOL")
    b=$(mean_seconds "$BIN" plan --parts 4 --chain gaussian:sigma=1 "$VOL")
    label="plan --parts 4 --chain …"
  else
    a=$(mean_seconds "$BIN" run --chain "s2s,gaussian:sigma=-1" "$VOL" /dev/null)
    b=$(mean_seconds "$BIN" run --chain "gaussian:sigma=1,gaussian:sigma=-1" "$VOL" /dev/null)
    label="run --chain \"…,gaussian:sigma=-1\" (refused after the first stage is made)"
  fi
  awk -v l="$label" -v a="$a" -v b="$b" 'BEGIN { printf "| %s | %.1f ms | %.1f ms | %.2fx |\n", l, a * 1000, b * 1000, a / b }'
done
printf "| list | %.1f ms | | |\n" "$(awk -v s="$(mean_seconds "$BIN" list)" 'BEGIN { print s * 1000 }')"
