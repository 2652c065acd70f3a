#!/usr/bin/env bash
# The README's test command: install, build in release mode (numeric code is tested as it ships),
# and run every test. Tests that need ../shared/corpus or python3+mrcfile skip with a message
# when those are absent; this script installs mrcfile so they run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Tests run one at a time: several FFTW and OpenBLAS users in one process at once are not what
# the tool does, and libraries differ in how much concurrency they take.
swift test -c release --no-parallel
