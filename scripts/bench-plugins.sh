#!/usr/bin/env bash
# Start-up cost of runtime plugins (issue 20): a run that uses no plugin must cost what it cost
# before plugins existed. Builds the revision BASE (default: the commit before plugins, c0dc3ca)
# in a git worktree under bench-out/, then times, interleaved in the same script and REPEATS
# times each (default 30): `list`, `gaussian` on a 64×64×32 volume and `info`, with the binary of
# BASE, with this one (no plugin), with this one and an empty STDIO_FILTER_PLUGIN_PATH
# directory, and with this one loading the two example plugins (`--plugin`, the loading cost).
#   bash scripts/bench-plugins.sh [BASE]
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
BASE="${1:-c0dc3ca}"
REPEATS="${REPEATS:-30}"
swift build -c release --product stdio-filter 2>&1 | tail -n 1 >&2
NOW="$(swift build -c release --show-bin-path)/stdio-filter"
TREE="$OUT/before-plugins"
if [ ! -x "$TREE/.build/release/stdio-filter" ]; then
  git worktree add -f "$TREE" "$BASE" > /dev/null
  (cd "$TREE" && swift build -c release --product stdio-filter 2>&1 | tail -n 1 >&2)
fi
BEFORE="$TREE/.build/release/stdio-filter"
PLUGINS="$OUT/plugins"
mkdir -p "$PLUGINS/empty"
for p in threshold unsharp; do
  cc -std=c99 -shared -fPIC -O2 -I Sources/CStdioFilterPlugin/include -o "$PLUGINS/$p.so" "examples/plugins/$p.c"
done
VOL="$OUT/startup.mrc"
[ -f "$VOL" ] || "$NOW" synth --quiet --size 64x64x32 "$VOL"

declare -A total
variants=(before now now-empty-path now-two-plugins)
run_variant() {   # variant command-words...
  local v="$1"; shift
  case "$v" in
    before) "$BEFORE" "$@" ;;
    now) "$NOW" "$@" ;;
    now-empty-path) STDIO_FILTER_PLUGIN_PATH="$PLUGINS/empty" "$NOW" "$@" ;;
    now-two-plugins) "$NOW" --plugin "$PLUGINS/threshold.so" --plugin "$PLUGINS/unsharp.so" "$@" ;;
  esac
}
commands=("list" "gaussian --quiet --sigma 1 $VOL /dev/null" "info $VOL")
for c in "${commands[@]}"; do for v in "${variants[@]}"; do total["$c|$v"]=0; done; done
for _ in $(seq "$REPEATS"); do
  for c in "${commands[@]}"; do
    for v in "${variants[@]}"; do
      read -r -a words <<< "$c"
      s=$(date +%s%N); run_variant "$v" "${words[@]}" > /dev/null 2>&1; e=$(date +%s%N)
      total["$c|$v"]=$(( ${total["$c|$v"]} + e - s ))
    done
  done
done
printf "| command | before plugins (%s) | now, no plugin | now, empty plugin path | now, two plugins loaded | now ÷ before |\n|---|---:|---:|---:|---:|---:|\n" "$BASE"
for c in "${commands[@]}"; do
  ms() { awk -v t="${total["$c|$1"]}" -v n="$REPEATS" 'BEGIN { printf "%.2f", t / n / 1e6 }'; }
  label="${c//$VOL/VOL}"
  printf "| %s | %s ms | %s ms | %s ms | %s ms | %.2fx |\n" "$label" "$(ms before)" "$(ms now)" "$(ms now-empty-path)" "$(ms now-two-plugins)" \
    "$(awk -v a="${total["$c|now"]}" -v b="${total["$c|before"]}" 'BEGIN { print a / b }')"
done
