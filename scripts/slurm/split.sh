#!/usr/bin/env bash
# Splits one tomogram's run across a SLURM job array and joins the parts.
#
#   scripts/slurm/split.sh --parts N --chain SPEC [--workdir DIR] [--sbatch "ARGS"] [--wait] IN OUT
#
# `stdio-filter plan` cuts the output's sections into N ranges; array task i runs
#   stdio-filter run --chain SPEC --zrange <range i> IN DIR/part-i.mrc
# and a job that depends on every task (afterok) runs `stdio-filter concat` into OUT. A failed
# task names its part and sections in DIR/part-i.log and exits with the tool's status; the join
# job is then cancelled (--kill-on-invalid-dep), so OUT is never written from partial results.
# Stages with global state (normalize, s2s) read the whole input in every task unless given
# statistics measured once: `stdio-filter stats --json IN > S` (with --chain for the stages before
# them), then normalize:stats=S, s2s:model=M:stats=S (train once with --save-model). Results are
# identical either way; with them each task reads only its sections.
# Prints the two job IDs; with --wait, waits for the join and exits with its status.
# The binary is $STDIO_FILTER, else stdio-filter on PATH, else this checkout's release build.
set -euo pipefail
parts="" chain="" workdir="" sbatch_args="" wait=0
while [ $# -gt 0 ]; do
  case "$1" in
    --parts) parts="$2"; shift 2 ;;
    --chain) chain="$2"; shift 2 ;;
    --workdir) workdir="$2"; shift 2 ;;
    --sbatch) sbatch_args="$2"; shift 2 ;;
    --wait) wait=1; shift ;;
    -*) echo "split.sh: unknown option $1" >&2; exit 64 ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] && [ -n "$parts" ] && [ -n "$chain" ] || { sed -n '2,4p' "$0" >&2; exit 64; }
input="$(realpath "$1")" output="$(realpath -m "$2")"
workdir="$(realpath -m "${workdir:-$output.parts}")"
source "$(dirname "$0")/lib.sh"
bin="$(stdio_filter_binary)"
mkdir -p "$workdir"
"$bin" plan --parts "$parts" --chain "$chain" "$input" > "$workdir/ranges.txt"
count=$(wc -l < "$workdir/ranges.txt")
printf 'BIN=%q\nCHAIN=%q\nINPUT=%q\nOUTPUT=%q\nWORKDIR=%q\nCOUNT=%q\n' "$bin" "$chain" "$input" "$output" "$workdir" "$count" > "$workdir/job.env"

cat > "$workdir/part.sh" <<SCRIPT
#!/usr/bin/env bash
#SBATCH --job-name=stdio-filter-part
#SBATCH --output=$workdir/part-%a.log
source "$workdir/job.env"
range=\$(sed -n "\$((SLURM_ARRAY_TASK_ID + 1))p" "\$WORKDIR/ranges.txt")
"\$BIN" run --quiet --chain "\$CHAIN" --zrange "\$range" "\$INPUT" "\$WORKDIR/part-\$SLURM_ARRAY_TASK_ID.mrc"
status=\$?
if [ \$status -ne 0 ]; then
  echo "stdio-filter part \$SLURM_ARRAY_TASK_ID of \$COUNT (sections \$range) failed with exit status \$status" >&2
fi
exit \$status
SCRIPT

cat > "$workdir/join.sh" <<SCRIPT
#!/usr/bin/env bash
#SBATCH --job-name=stdio-filter-join
#SBATCH --output=$workdir/join.log
source "$workdir/job.env"
parts=()
for ((i = 0; i < COUNT; i++)); do parts+=("\$WORKDIR/part-\$i.mrc"); done
"\$BIN" concat --quiet "\${parts[@]}" "\$OUTPUT" && rm -f "\${parts[@]}"
SCRIPT

# shellcheck disable=SC2086
array=$(sbatch --parsable $sbatch_args --array="0-$((count - 1))" "$workdir/part.sh")
array="${array%%;*}"
# shellcheck disable=SC2086
join=$(sbatch --parsable $sbatch_args --dependency="afterok:$array" --kill-on-invalid-dep=yes "$workdir/join.sh")
join="${join%%;*}"
echo "parts: job $array ($count tasks, logs in $workdir); join: job $join -> $output"
if [ "$wait" = 1 ]; then
  wait_for_jobs "$array,$join"
  failed=$(grep -l "failed with exit status" "$workdir"/part-*.log 2> /dev/null || true)
  if [ -n "$failed" ]; then cat $failed >&2; exit 1; fi
  [ -f "$output" ] || { echo "split.sh: the join job did not write $output (see $workdir/join.log)" >&2; exit 1; }
fi
