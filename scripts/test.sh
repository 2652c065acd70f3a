#!/usr/bin/env bash
# The README's test command: install, build in release mode (numeric code is tested as it ships),
# and run every test. Tests that need ../shared/corpus or python3+mrcfile skip with a message
# when those are absent; this script installs mrcfile so they run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Each test target runs in its own process, its tests one at a time: run together in one process
# the suites once crashed with heap corruption (a native-library interaction still under
# investigation, see the issue notes); each target alone has never failed.
for target in FilterKitTests StagesTests S2SFilterTests StdioFilterTests; do
  echo "== $target" >&2
  swift test -c release --no-parallel --filter "$target"
done
