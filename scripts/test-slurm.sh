#!/usr/bin/env bash
# The SLURM test of issue 10, on a real single-node cluster started here (slurmctld + slurmd +
# munged, no mocks; recipe: ../shared/notes/testing.md). Skips with a message where SLURM cannot
# be installed or started (not root, no apt). Needs the release build.
#
# A synthetic 128×128×64 tomogram goes through `gaussian` and through `s2s` with a saved model,
# once in one process and once as a 4-task array plus the join job (scripts/slurm/split.sh); the
# voxels must be equal bit for bit. A dataset array (scripts/slurm/dataset.sh) must equal the
# single runs too, and a task that fails must fail the job with its part named.
set -euo pipefail
cd "$(dirname "$0")/.."
skip() { echo "test-slurm: SKIPPED: $*" >&2; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root to start slurmctld, slurmd and munged"
if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
  command -v apt-get > /dev/null || skip "no slurmctld/munged and no apt-get to install them"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge > /tmp/slurm-install.log 2>&1 \
    || { apt-get update > /dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge > /tmp/slurm-install.log 2>&1; } \
    || skip "apt-get install slurm-wlm munge failed (see /tmp/slurm-install.log)"
fi
BIN="$(realpath "$(swift build -c release --show-bin-path)/stdio-filter")"
[ -x "$BIN" ] || { echo "test-slurm: build first (swift build -c release)" >&2; exit 1; }
export STDIO_FILTER="$BIN"

DIR="$(mktemp -d /tmp/stdio-filter-slurm.XXXXXX)"
host="$(hostname -s)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
  sleep 1
  rm -rf "$DIR"
}
trap cleanup EXIT

# munge, as the munge user (it refuses root).
getent hosts "$host" > /dev/null || echo "127.0.0.1 $host" >> /etc/hosts
[ -f /etc/munge/munge.key ] || { mkdir -p /etc/munge; dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2> /dev/null; }
chown munge:munge /etc/munge/munge.key 2> /dev/null || true
chmod 400 /etc/munge/munge.key || skip "cannot set up /etc/munge/munge.key"
install -d -o munge -g munge -m 0755 /run/munge || skip "cannot create /run/munge for the munge user"
if ! munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then
  setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F > "$DIR/munged.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do munge -n 2> /dev/null | unmunge > /dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n | unmunge > /dev/null || skip "munged did not start"

mkdir -p "$DIR/state" "$DIR/spool"
export SLURM_CONF="$DIR/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.txt
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
/usr/sbin/slurmctld -D -f "$SLURM_CONF" > "$DIR/slurmctld.out" 2>&1 &
pids+=($!)
/usr/sbin/slurmd -D -f "$SLURM_CONF" > "$DIR/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ "$(sinfo -h -N -o %T 2> /dev/null | head -n 1)" = idle ] && break; sleep 0.2; done
[ "$(sinfo -h -N -o %T 2> /dev/null | head -n 1)" = idle ] || { tail -n 20 "$DIR"/slurm*.log >&2; skip "the SLURM node did not come up idle"; }
echo "test-slurm: cluster up ($(sinfo -h -o '%P %D %T'))" >&2

# Voxel data of an MRC file (header and extended header skipped), as a checksum.
data_sum() {
  local nsymbt
  nsymbt=$(od -An -t d4 -j 92 -N 4 "$1" | tr -d ' ')
  tail -c +$((1025 + nsymbt)) "$1" | sha256sum | cut -d' ' -f1
}
failures=0
expect_same() {
  if [ "$(data_sum "$1")" = "$(data_sum "$2")" ]; then echo "test-slurm: ok: $3" >&2
  else echo "test-slurm: FAIL: $3 ($1 and $2 differ)" >&2; failures=$((failures + 1)); fi
}

cd "$DIR"
"$BIN" synth --quiet --size 128x128x64 --seed 3 tomo.mrc
"$BIN" synth --quiet --size 96x96x40 --seed 4 other.mrc

# 1. gaussian over a 4-task array, against one process.
"$BIN" run --quiet --chain gaussian:sigma=2 tomo.mrc single-gaussian.mrc
# Every submission is bounded in time: a job that never runs fails the test instead of hanging CI.
SPLIT=(timeout 600 bash "$OLDPWD/scripts/slurm/split.sh")
"${SPLIT[@]}" --parts 4 --chain gaussian:sigma=2 --wait tomo.mrc split-gaussian.mrc
expect_same single-gaussian.mrc split-gaussian.mrc "gaussian: 4 array tasks + concat equal one process"

# 2. s2s with a model trained once and statistics measured once (the tasks read only their sections).
"$BIN" s2s --quiet --steps 5 --samples 1 --save-model model.safetensors tomo.mrc trained.mrc
"$BIN" stats --quiet --percentiles none --json tomo.mrc > tomo.stats.json
"$BIN" run --quiet --chain "s2s:model=model.safetensors:samples=2" tomo.mrc single-s2s.mrc
"${SPLIT[@]}" --parts 4 --chain "s2s:model=model.safetensors:stats=tomo.stats.json:samples=2" --wait tomo.mrc split-s2s.mrc
expect_same single-s2s.mrc split-s2s.mrc "s2s --model --stats: 4 array tasks + concat equal one process"

# 3. a dataset: one task per file.
timeout 600 bash "$OLDPWD/scripts/slurm/dataset.sh" --chain gaussian:sigma=1 --outdir dataset --wait tomo.mrc other.mrc
for name in tomo other; do
  "$BIN" run --quiet --chain gaussian:sigma=1 "$name.mrc" "single-$name.mrc"
  expect_same "single-$name.mrc" "dataset/$name.mrc" "dataset task for $name.mrc equals one process"
done

# 4. a failing task fails the job and names its part; the join does not run. Task 1 gets a
#    binary that refuses to run its range (an invalid --memory), the others the real one.
cat > faulty.sh <<WRAPPER
#!/usr/bin/env bash
case " \$* " in *" 16:32 "*) exec "$BIN" "\$@" --memory 0 ;; *) exec "$BIN" "\$@" ;; esac
WRAPPER
chmod +x faulty.sh
set +e
STDIO_FILTER="$DIR/faulty.sh" "${SPLIT[@]}" --parts 4 --chain gaussian:sigma=2 --wait tomo.mrc broken.mrc 2> broken.err
status=$?
set -e
if [ $status -ne 0 ] && grep -q "stdio-filter part 1 of 4 (sections 16:32) failed with exit status 64" broken.err && [ ! -e broken.mrc ]; then
  echo "test-slurm: ok: a failed task fails the job, names its part, and no output is written" >&2
else
  echo "test-slurm: FAIL: failed task (status $status): $(cat broken.err)" >&2; failures=$((failures + 1))
fi

[ $failures -eq 0 ] || { echo "test-slurm: $failures failure(s)" >&2; exit 1; }
echo "test-slurm: all passed" >&2
