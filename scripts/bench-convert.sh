#!/usr/bin/env bash
# Benchmark: `stdio-filter convert` on a large float32 volume against `cat` in the same run.
#   scripts/bench-convert.sh [GiB=2] [repeats=3]
# Prints wall time, throughput, peak RSS (from /usr/bin/time -v) and the ratio to cat, for:
#   cat big.mrc > out                       (the reference)
#   stdio-filter convert < big.mrc > out    (stdin/stdout are files: stats patched at the end)
#   cat big.mrc | cat | cat > out                    (the reference for pipes)
#   cat big.mrc | stdio-filter convert | cat > out   (real pipes both sides)
#   stdio-filter convert --mode 1 big.mrc out.mrc    (float32 -> int16 conversion, file to file)
# The volume is generated once into bench-out/ (not committed) and read from the page cache.
set -euo pipefail
cd "$(dirname "$0")/.."
GIB="${1:-2}"
REPEATS="${2:-3}"
OUT=bench-out
mkdir -p "$OUT"
swift build -c release --product stdio-filter 2>&1 | tail -n 1 >&2
BIN="$(swift build -c release --show-bin-path)/stdio-filter"
BIG="$OUT/big-${GIB}g.mrc"

if [ ! -f "$BIG" ]; then
  echo "generating $BIG ($GIB GiB float32)..." >&2
  python3 - "$BIG" "$GIB" <<'PY'
import sys, numpy as np, mrcfile
path, gib = sys.argv[1], float(sys.argv[2])
nx = ny = 1024
nz = int(gib * (1 << 30) / (nx * ny * 4))
with mrcfile.new_mmap(path, shape=(nz, ny, nx), mrc_mode=2, overwrite=True) as m:
    rng = np.random.default_rng(1)
    for z in range(0, nz, 16):
        m.data[z:z + 16] = rng.standard_normal((min(16, nz - z), ny, nx), dtype=np.float32)
    m.voxel_size = 10.0
PY
fi
SIZE=$(stat -c %s "$BIG")
cat "$BIG" > /dev/null   # warm the page cache

measure() {  # name, command...; prints "seconds maxrss_kib"
  local name="$1"; shift
  local log="$OUT/time.log"
  /usr/bin/time -v -o "$log" bash -c "$*"
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
  echo "$wall $rss"
}

declare -A best_time best_rss
names=(cat convert-files cat-cat-cat convert-pipes convert-to-int16)
cmds=(
  "cat '$BIG' > '$OUT/out-cat.mrc'"
  "'$BIN' convert < '$BIG' > '$OUT/out-convert.mrc'"
  "cat '$BIG' | cat | cat > '$OUT/out-catpipe.mrc'"
  "cat '$BIG' | '$BIN' convert | cat > '$OUT/out-pipe.mrc'"
  "'$BIN' convert --quiet --mode 1 '$BIG' '$OUT/out-int16.mrc'"
)
for r in $(seq "$REPEATS"); do
  for i in "${!names[@]}"; do
    read -r t m < <(measure "${names[$i]}" "${cmds[$i]}")
    n="${names[$i]}"
    if [ -z "${best_time[$n]:-}" ] || awk "BEGIN{exit !($t < ${best_time[$n]})}"; then best_time[$n]=$t; fi
    if [ -z "${best_rss[$n]:-}" ] || [ "$m" -gt "${best_rss[$n]}" ]; then best_rss[$n]=$m; fi
    rm -f "$OUT"/out-*.mrc
  done
done

echo "volume: $BIG, $SIZE bytes; best of $REPEATS runs; peak RSS = max over runs (for pipelines: the largest process)"
printf "%-18s %9s %11s %12s %10s\n" case seconds "MiB/s" "peak RSS" "vs cat"
for n in "${names[@]}"; do
  t=${best_time[$n]}; m=${best_rss[$n]}
  awk -v n="$n" -v t="$t" -v m="$m" -v s="$SIZE" -v c="${best_time[cat]}" \
    'BEGIN { printf "%-18s %9.2f %11.0f %9.1f MiB %9.2fx\n", n, t, s/t/1048576, m/1024, c/t }'
done
