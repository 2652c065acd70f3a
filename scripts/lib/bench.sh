# Shared helpers of the benchmark scripts (sourced, not run).
#   bench_binary             builds the release binary into $BIN
#   bench_setup GIB          builds the release binary into $BIN, makes $BIG (GIB GiB float32,
#                            1024×1024×NZ, written by mrcfile into bench-out/) and warms the cache
#   bench_volume PATH NX NY NZ   writes a float32 noise volume with mrcfile unless PATH exists
#   bench_run REPEATS        runs the cases in the arrays `names` and `cmds`, keeps every wall
#                            time and the largest peak RSS of each
#   bench_table REF          prints the table: best and median seconds, MiB/s, peak RSS, ratios to REF
#   bench_best_gaussian NOISY OTHER KEEP   the best Gaussian of NOISY over isotropic and
#                            anisotropic σ, scored against the independent OTHER with
#                            ../shared/tools/n2n_score.py; keeps it in KEEP, prints "corr σ"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=bench-out
mkdir -p "$OUT"

bench_volume() {
  local path="$1"
  [ -f "$path" ] && return 0
  echo "generating $path ($2×$3×$4 float32)..." >&2
  python3 - "$@" <<'PY'
import sys, numpy as np, mrcfile
path, nx, ny, nz = sys.argv[1], *map(int, sys.argv[2:5])
with mrcfile.new_mmap(path, shape=(nz, ny, nx), mrc_mode=2, overwrite=True) as m:
    rng = np.random.default_rng(1)
    step = max(1, (16 << 20) // (nx * ny * 4))
    for z in range(0, nz, step):
        m.data[z:z + step] = rng.standard_normal((min(step, nz - z), ny, nx), dtype=np.float32)
    m.voxel_size = 10.0
PY
}

# Builds the release binary; sets BIN to its path.
bench_binary() {
  swift build -c release --product stdio-filter 2>&1 | tail -n 1 >&2
  BIN="$(swift build -c release --show-bin-path)/stdio-filter"
}

bench_setup() {
  local gib="$1"
  bench_binary
  BIG="$OUT/big-${gib}g.mrc"
  bench_volume "$BIG" 1024 1024 "$(awk -v g="$gib" 'BEGIN { print int(g * 256) }')"
  SIZE=$(stat -c %s "$BIG")
  cat "$BIG" > /dev/null   # warm the page cache
}

# Runs one command under /usr/bin/time -v (after a sync); prints "seconds maxrss_kib". The wall
# time is taken with nanosecond clocks around it (time's own has 10 ms steps: 3 % of a 0.3 s run).
bench_measure() {
  local log="$OUT/time.log" start end rss
  # Write back what earlier runs left dirty, so no run pays for another's writes.
  sync
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$log" bash -c "$1"
  end=$(date +%s.%N)
  rss=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
  awk -v a="$start" -v b="$end" -v m="$rss" 'BEGIN { printf "%.4f %d\n", b - a, m }'
}

# Each case's wall times (space-separated) and largest peak RSS.
declare -A all_times best_rss
bench_run() {
  local repeats="$1" r i n t m
  for r in $(seq "$repeats"); do
    for i in "${!names[@]}"; do
      read -r t m < <(bench_measure "${cmds[$i]}")
      n="${names[$i]}"
      all_times[$n]="${all_times[$n]:-} $t"
      if [ -z "${best_rss[$n]:-}" ] || [ "$m" -gt "${best_rss[$n]}" ]; then best_rss[$n]=$m; fi
      rm -f "$OUT"/out-*.mrc "$OUT"/out-*.tif
    done
  done
}

# The best (smallest) and the median of a case's times: "best median".
bench_best_median() {
  echo "${all_times[$1]}" | tr ' ' '\n' | grep . | sort -g |
    awk '{ t[NR] = $1 } END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2; print t[1], m }'
}

# Prints the table; the ratios to case REF are of the best times and of the medians (on a shared
# machine the two differ by a few per cent: report both).
bench_table() {
  local ref="$1" n b m rb rm
  read -r rb rm < <(bench_best_median "$ref")
  echo "volume: ${BIG:-}, ${SIZE:-} bytes; best and median of $REPEATS runs; peak RSS = max over runs (for pipelines: the largest process)"
  printf "%-22s %8s %8s %9s %12s %9s %9s\n" case best median "MiB/s" "peak RSS" "vs $ref" "(median)"
  for n in "${names[@]}"; do
    read -r b m < <(bench_best_median "$n")
    awk -v n="$n" -v b="$b" -v md="$m" -v r="${best_rss[$n]}" -v s="$SIZE" -v rb="$rb" -v rm="$rm" \
      'BEGIN { printf "%-22s %8.3f %8.3f %9.0f %8.1f MiB %8.2fx %8.2fx\n", n, b, md, s/b/1048576, r/1024, rb/b, rm/md }'
  done
}

bench_best_gaussian() {
  local best=0 best_sigma="" corr sigma scratch="${3%.mrc}.try.mrc"
  for sigma in 1 2 3 5 2x2x4 3x3x6 4x4x8 3x3x8 2x2x6; do
    "$BIN" gaussian --quiet --sigma "$sigma" "$1" "$scratch"
    corr=$(python3 ../shared/tools/n2n_score.py "$scratch" "$2" | python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["corr"])')
    if awk -v a="$corr" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$corr; best_sigma=$sigma; cp "$scratch" "$3"; fi
  done
  rm -f "$scratch"
  echo "$best $best_sigma"
}
