#!/usr/bin/env bash
# Fuzzes the parsers with libFuzzer + AddressSanitizer (recipe: ../shared/notes/testing.md).
#
#   scripts/fuzz.sh [SECONDS] [TARGET…]     (default: 60 s for each of the six targets)
#
# Targets: FuzzMRCHeader (MRC header + extended header), FuzzMRCFile (whole MRC files),
# FuzzTIFF (TIFF through libtiff and our ImageJ parser), FuzzChainSpec (run --chain and every
# stage's parameters), FuzzSafetensors (s2s --model files), FuzzStatistics (--stats files). Seeds: the shared corpus (files
# under 64 KiB, uncompressed) and Fuzz/seeds; the growing corpus is kept in .fuzz/corpus.
# A crash input lands in Fuzz/regressions/<target>/ (the normal tests replay that folder
# through the binary) and the script exits 1. One summary line per target on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(FuzzMRCHeader FuzzMRCFile FuzzTIFF FuzzChainSpec FuzzSafetensors FuzzStatistics)
BUILD="${FUZZ_BUILD_PATH:-.build-fuzz}"
SHARED_CORPUS="${SHARED_CORPUS:-../shared/corpus}"

seeds_for() {
  case "$1" in
    FuzzMRCHeader|FuzzMRCFile) echo mrc ;;
    FuzzTIFF) echo tiff ;;
    FuzzChainSpec) echo chain ;;
    FuzzSafetensors) echo safetensors ;;
    FuzzStatistics) echo stats ;;
  esac
}

status=0
for target in "${TARGETS[@]}"; do
  kind=$(seeds_for "$target")
  [ -n "$kind" ] || { echo "fuzz.sh: unknown target $target" >&2; exit 64; }
  STDIO_FILTER_FUZZ=1 swift build -c release --build-path "$BUILD" --product "$target" \
    --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld 2>&1 | tail -n 1 >&2
  corpus=".fuzz/corpus/$target"
  mkdir -p "$corpus" "Fuzz/regressions/$target" ".fuzz/artifacts/$target"
  seeds=("Fuzz/seeds/$kind")
  mkdir -p "Fuzz/seeds/$kind"
  if [ -d "$SHARED_CORPUS/$kind" ]; then
    shared=".fuzz/shared-seeds/$kind"
    mkdir -p "$shared"
    find "$SHARED_CORPUS/$kind" -type f -size -64k ! -name '*.gz' ! -name '*.bz2' ! -name '*.xz' ! -name '*.zst' \
      ! -name '*.json' ! -name '*.md' ! -name '*.txt' -exec cp -f {} "$shared/" \;
    seeds+=("$shared")
  fi
  log=".fuzz/$target.log"
  # Inputs up to 64 KiB for whole files, 16 KiB for TIFF (libtiff's per-input work grows with
  # the directory), 4 KiB for chain specs.
  case "$target" in FuzzTIFF) max_len=16384 ;; FuzzChainSpec) max_len=4096 ;; *) max_len=65536 ;; esac
  set +e
  SWIFT_BACKTRACE=enable=no "$BUILD/release/$target" -max_total_time="$SECONDS_EACH" -max_len=$max_len -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix=".fuzz/artifacts/$target/" "$corpus" "${seeds[@]}" > "$log" 2>&1
  rc=$?
  set -e
  runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
  rate=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$log")
  found=$(find ".fuzz/artifacts/$target" -type f | wc -l)
  if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
    status=1
    for f in ".fuzz/artifacts/$target"/*; do
      [ -f "$f" ] || continue
      name="$(basename "$f")"
      mv "$f" "Fuzz/regressions/$target/$name"
      echo "$target: crash input kept as Fuzz/regressions/$target/$name" >&2
    done
    grep -m 3 -E "ERROR: AddressSanitizer|Fatal error|SUMMARY" "$log" >&2 || true
  fi
  echo "$target: ${runs:-0} executions in ${SECONDS_EACH} s (${rate:-0}/s), exit $rc, $found crash input(s)"
done
exit $status
