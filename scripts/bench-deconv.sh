#!/usr/bin/env bash
# Benchmark: `stdio-filter deconv` against the numpy reference (../shared/reference/deconv_ref.py,
# numpy's pocketfft in float64) in the same run, then the out-of-core mode on a large volume.
#   scripts/bench-deconv.sh [GiB for the out-of-core run = 4] [repeats = 3]
# Groups (all at 10 Å/px, 3 µm, IsoNet defaults; --threads 2):
#   256³ in memory: numpy reference; ours with an empty FFTW wisdom cache (a first run on a new
#     shape: `--planner auto` estimates transforms over 1M values); ours with the wisdom that an
#     earlier `--planner measure` run cached
#   1 GiB (1024×1024×256): in memory (--memory 2G) against out of core (--execution outofcore)
#   GiB from a pipe: `cat big | deconv > out` with the default --memory (out of core), peak RSS
source "$(dirname "$0")/lib/bench.sh"
GIB="${1:-4}"
REPEATS="${2:-3}"
REF="../shared/reference/deconv_ref.py"
[ -f "$REF" ] || { echo "bench-deconv: $REF is missing" >&2; exit 1; }
bench_setup "$GIB"
MID="$OUT/deconv-1g.mrc"
SMALL="$OUT/deconv-256.mrc"
bench_volume "$MID" 1024 1024 256
bench_volume "$SMALL" 256 256 256
ARGS="--angpix 10 --defocus 3"
export OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
XDG_CACHE_HOME="$OUT/cache" "$BIN" deconv --quiet --planner measure $ARGS "$SMALL" "$OUT/warm.mrc" && rm -f "$OUT/warm.mrc"

names=(numpy-reference deconv-first-run deconv-wisdom)
cmds=(
  "python3 '$REF' '$SMALL' '$OUT/out-ref.mrc' $ARGS"
  "rm -rf '$OUT/cache-empty'; XDG_CACHE_HOME='$OUT/cache-empty' '$BIN' deconv --quiet --threads 2 $ARGS '$SMALL' '$OUT/out-first.mrc'"
  "XDG_CACHE_HOME='$OUT/cache' '$BIN' deconv --quiet --threads 2 $ARGS '$SMALL' '$OUT/out-wisdom.mrc'"
)
bench_run "$REPEATS"
BIG_SAVED="$BIG"; SIZE_SAVED="$SIZE"
BIG="$SMALL"; SIZE=$(stat -c %s "$SMALL")
bench_table numpy-reference

names=(in-memory out-of-core)
cmds=(
  "XDG_CACHE_HOME='$OUT/cache' '$BIN' deconv --quiet --threads 2 --memory 2G $ARGS '$MID' '$OUT/out-mem.mrc'"
  "XDG_CACHE_HOME='$OUT/cache' '$BIN' deconv --quiet --threads 2 --execution outofcore $ARGS '$MID' '$OUT/out-ooc.mrc'"
)
bench_run 2
BIG="$MID"; SIZE=$(stat -c %s "$MID")
bench_table in-memory

names=(out-of-core-pipe)
cmds=("cat '$BIG_SAVED' | XDG_CACHE_HOME='$OUT/cache' '$BIN' deconv --quiet --threads 2 $ARGS > '$OUT/out-pipe.mrc'")
bench_run 2
BIG="$BIG_SAVED"; SIZE="$SIZE_SAVED"
bench_table out-of-core-pipe
