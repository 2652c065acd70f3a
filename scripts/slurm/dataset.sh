#!/usr/bin/env bash
# Runs one chain over many tomograms, one SLURM array task per file.
#
#   scripts/slurm/dataset.sh --chain SPEC --outdir DIR [--suffix _den] [--sbatch "ARGS"] [--wait] IN…
#
# Task i runs `stdio-filter run --chain SPEC IN_i DIR/<name of IN_i with SUFFIX>.mrc`; a failed
# task names its file in DIR/logs/task-i.log and exits with the tool's status (the array job
# then shows as failed). With --wait, waits and exits 1 if any task failed, listing them.
set -euo pipefail
chain="" outdir="" suffix="" sbatch_args="" wait=0
while [ $# -gt 0 ]; do
  case "$1" in
    --chain) chain="$2"; shift 2 ;;
    --outdir) outdir="$2"; shift 2 ;;
    --suffix) suffix="$2"; shift 2 ;;
    --sbatch) sbatch_args="$2"; shift 2 ;;
    --wait) wait=1; shift ;;
    -*) echo "dataset.sh: unknown option $1" >&2; exit 64 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] && [ -n "$chain" ] && [ -n "$outdir" ] || { sed -n '2,4p' "$0" >&2; exit 64; }
source "$(dirname "$0")/lib.sh"
bin="$(stdio_filter_binary)"
outdir="$(realpath -m "$outdir")"
mkdir -p "$outdir/logs"
: > "$outdir/logs/files.txt"
for f in "$@"; do realpath "$f" >> "$outdir/logs/files.txt"; done
printf 'BIN=%q\nCHAIN=%q\nOUTDIR=%q\nSUFFIX=%q\n' "$bin" "$chain" "$outdir" "$suffix" > "$outdir/logs/job.env"
cat > "$outdir/logs/task.sh" <<SCRIPT
#!/usr/bin/env bash
#SBATCH --job-name=stdio-filter-dataset
#SBATCH --output=$outdir/logs/task-%a.log
source "$outdir/logs/job.env"
input=\$(sed -n "\$((SLURM_ARRAY_TASK_ID + 1))p" "\$OUTDIR/logs/files.txt")
name=\$(basename "\$input"); name="\${name%.*}"
"\$BIN" run --quiet --chain "\$CHAIN" "\$input" "\$OUTDIR/\$name\$SUFFIX.mrc"
status=\$?
[ \$status -eq 0 ] || echo "stdio-filter task \$SLURM_ARRAY_TASK_ID (\$input) failed with exit status \$status" >&2
exit \$status
SCRIPT
# shellcheck disable=SC2086
job=$(sbatch --parsable $sbatch_args --array="0-$(($# - 1))" "$outdir/logs/task.sh")
job="${job%%;*}"
echo "dataset: job $job ($# tasks, logs in $outdir/logs)"
if [ "$wait" = 1 ]; then
  wait_for_jobs "$job"
  failed=$(grep -h "failed with exit status" "$outdir"/logs/task-*.log 2> /dev/null || true)
  if [ -n "$failed" ]; then echo "$failed" >&2; exit 1; fi
fi
