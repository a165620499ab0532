#!/usr/bin/env bash
# The SLURM job scripts (jobs/) on a real single-node SLURM started here: munged (as user
# munge, private socket and key), slurmctld and slurmd on private ports, all in a temporary
# folder and stopped by PID at the end. Submits run.sbatch, strong_scaling.sbatch and
# weak_scaling.sbatch at 1-2 ranks with small networks, waits, and checks that each job
# completed and left its results (HDF5, timing record, sweep table). Needs root (as in CI) and
# Debian's munge, slurmctld, slurmd, slurm-client (scripts/install-deps.sh).
# Usage: tests/slurm/slurm_jobs.sh SEQLEARN_MPI   (from anywhere; the program to test, e.g.
# build/release/seqlearn_mpi; CTest passes its build's. The jobs get it as SEQLEARN_BIN.)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
[[ $# -eq 1 ]] || { echo "usage: slurm_jobs.sh SEQLEARN_MPI (the program to test)" >&2; exit 2; }
binary=$(realpath -e "$1" 2>/dev/null) && [[ -x "$binary" ]] ||
  { echo "FAIL no program at '$1' (build it first)" >&2; exit 1; }
work=$(mktemp -d /tmp/seqlearn-slurm.XXXXXX)
chmod 755 "$work"
stop_cluster() {
  for pid_file in "$work/slurmd.pid" "$work/slurmctld.pid" "$work/munge/munged.pid"; do
    [[ -f "$pid_file" ]] && kill "$(cat "$pid_file")" 2>/dev/null
  done
  sleep 1
  rm -rf "$work"
}
trap stop_cluster EXIT
fail() { echo "FAIL $*"; [[ -f "$work/slurmctld.log" ]] && tail -5 "$work/slurmctld.log"; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root to start munged and the SLURM daemons"

# munge: a private key and socket, run as user munge.
mkdir -p "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chown -R munge:munge "$work/munge"
chmod 755 "$work/munge"  # the socket's folder must be searchable by every client
chmod 400 "$work/munge/munge.key"
runuser -u munge -- /usr/sbin/munged --socket="$work/munge/munge.socket" --key-file="$work/munge/munge.key" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed" \
  || fail "munged did not start"

port=$((20000 + ($$ % 5000) * 2))
host=$(hostname)
node=$(slurmd -C | head -1 | sed "s/^NodeName=[^ ]*/NodeName=$host/")
cat >"$work/slurm.conf" <<CONF
ClusterName=seqlearn-test
SlurmctldHost=$host
SlurmUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthInfo=socket=$work/munge/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MailProg=/bin/true
ReturnToService=2
MpiDefault=none
$node
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p "$work/state" "$work/spool"
export SLURM_CONF=$work/slurm.conf
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
slurmd -f "$SLURM_CONF" || fail "slurmd did not start"
for _ in $(seq 1 30); do
  [[ "$(sinfo -h -o %T 2>/dev/null)" == idle ]] && break
  sleep 1
done
[[ "$(sinfo -h -o %T 2>/dev/null)" == idle ]] || fail "the node did not become idle: $(sinfo 2>&1)"
echo "ok   single-node SLURM up ($(sinfo -h -o '%P %D %T'))"

cd "$root" || exit 1
results=$work/results
# The jobs get everything through the submitting environment (--export=ALL, stated): the
# program under test as SEQLEARN_BIN (jobs/lib.sh), never a build/release default.
export SEQLEARN_BIN=$binary SEQLEARN_RESULTS=$results OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run_job=$(SEQLEARN_ARGS="--network.grid 6x5 --run.protocol train:2000,test:1000" \
  sbatch --parsable --export=ALL --ntasks=2 --output="$work/run-%j.out" jobs/run.sbatch) || fail "sbatch run.sbatch"
strong_job=$(SEQLEARN_GRID=16x16 SEQLEARN_MS=500 \
  sbatch --parsable --export=ALL --ntasks=2 --output="$work/strong-%j.out" jobs/strong_scaling.sbatch) || fail "sbatch strong"
weak_job=$(SEQLEARN_BLOCK=8x8 SEQLEARN_MS=500 \
  sbatch --parsable --export=ALL --ntasks=2 --output="$work/weak-%j.out" jobs/weak_scaling.sbatch) || fail "sbatch weak"
for _ in $(seq 1 300); do
  [[ -z "$(squeue -h 2>/dev/null)" ]] && break
  sleep 1
done
[[ -z "$(squeue -h)" ]] && echo "ok   all jobs finished" || fail "jobs still queued or running: $(squeue)"

failures=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
completed() { scontrol show job "$1" | grep -q "JobState=COMPLETED .*" && scontrol show job "$1" | grep -q "ExitCode=0:0"; }
for job in "run:$run_job" "strong:$strong_job" "weak:$weak_job"; do
  name=${job%%:*} id=${job#*:}
  if ! check "$name job $id completed with exit code 0" completed "$id"; then
    sed 's/^/    /' "$work/$name-$id.out" | tail -15
  fi
done
for job in "run:$run_job" "strong:$strong_job" "weak:$weak_job"; do
  check "${job%%:*} job ran the program under test ($binary)" grep -qxF "seqlearn: program $binary" "$work/${job%%:*}-${job#*:}.out"
done
check "run job: output and timing record" test -s "$results/run-$run_job/run.h5" -a -s "$results/run-$run_job/timing.json"
check "run job: timing record has the real-time factor" grep -q '"rtf": ' "$results/run-$run_job/timing.json"
for kind in strong weak; do
  id=$([[ $kind == strong ]] && echo "$strong_job" || echo "$weak_job")
  for np in 1 2; do
    check "$kind sweep: point np$np" test -s "$results/$kind-$id/np$np/run.h5" -a -s "$results/$kind-$id/np$np/timing.json"
    check "$kind sweep: point np$np ran on $np ranks" grep -q "\"ranks\": $np," "$results/$kind-$id/np$np/timing.json"
  done
  check "$kind sweep: table and picture" test -s "$results/$kind-$id/sweep.json" -a -s "$results/$kind-$id/sweep.png"
done
check "strong sweep: points identical (checked in the job)" grep -q "all points identical" "$work/strong-$strong_job.out"
[[ $failures -eq 0 ]] && echo "SLURM jobs: all checks passed"
[[ $failures -eq 0 ]]
