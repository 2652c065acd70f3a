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
source "$(dirname "$0")/lib/bench.sh"
GIB="${1:-2}"
REPEATS="${2:-3}"
bench_setup "$GIB"
names=(cat convert-files cat-cat-cat convert-pipes convert-to-int16)
cmds=(
  "cat '$BIG' > '$OUT/out-cat.mrc'"
  "'$BIN' convert < '$BIG' > '$OUT/out-convert.mrc'"
  "cat '$BIG' | cat | cat > '$OUT/out-catpipe.mrc'"
  "cat '$BIG' | '$BIN' convert | cat > '$OUT/out-pipe.mrc'"
  "'$BIN' convert --quiet --mode 1 '$BIG' '$OUT/out-int16.mrc'"
)
bench_run "$REPEATS"
bench_table cat
