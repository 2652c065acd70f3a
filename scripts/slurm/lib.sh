# Shared by split.sh and dataset.sh (sourced, not run).

# The binary tasks run: $STDIO_FILTER, else stdio-filter on PATH, else this checkout's release build.
stdio_filter_binary() {
  local here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  realpath "${STDIO_FILTER:-$(command -v stdio-filter || echo "$here/.build/release/stdio-filter")}"
}

# Waits until none of the jobs (comma-separated IDs) is queued or running.
wait_for_jobs() {
  while [ -n "$(squeue -h -j "$1" 2> /dev/null)" ]; do sleep 1; done
}
