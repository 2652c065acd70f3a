#!/usr/bin/env bash
# The README's test command: install, build in release mode (numeric code is tested as it ships),
# and run every test. Tests that need ../shared/corpus or python3+mrcfile skip with a message
# when those are absent; this script installs mrcfile so they run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Each test target runs in its own process, its tests one at a time (the numeric tests use both
# cores themselves, and a crash names its target).
for target in FilterKitTests EvaluationTests StagesTests S2SFilterTests StdioFilterTests; do
  echo "== $target" >&2
  swift test -c release --no-parallel --filter "$target"
done
# A real single-node SLURM cluster: split runs and dataset arrays against one process (skips
# with a message where SLURM cannot be installed or started).
echo "== SLURM" >&2
bash scripts/test-slurm.sh
# The fuzz targets keep building and the shallow bugs stay fixed: a short run of each
# (FUZZ_SECONDS=0 skips it).
if [ "${FUZZ_SECONDS:-30}" != 0 ]; then
  echo "== fuzz smoke (${FUZZ_SECONDS:-30} s per target)" >&2
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
fi
