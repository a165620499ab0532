#!/usr/bin/env bash
# The SLURM job scripts (jobs/) on a real single-node SLURM started here: munged (as user
# munge, private socket and key), slurmctld and slurmd on private ports, all in a temporary
# folder and stopped by PID at the end. Submits run.sbatch, strong_scaling.sbatch and
# weak_scaling.sbatch at 1-2 ranks with small networks, waits, and checks that each job
# completed and left its results (HDF5, timing record, sweep table). Restart chain: run.sbatch
# stopped twice by SIGTERM (scancel --signal=TERM, what SLURM's --signal=TERM@120 sends, once
# the segment has written a periodic checkpoint, so the stop lands mid-run) continues by itself
# over 3 segments, and the joined run.h5 equals an uninterrupted run (h5diff); a chain capped at
# one segment (SEQLEARN_MAX_SEGMENTS=1) exits 3 and says how to go on. Sweep: tools/seqlearn-sweep
# --slurm submits a 2x2 grid as one array job; its 4 tasks complete and --collect writes
# summary.csv with the swept columns. Needs root (as in CI) and
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
# Restart chain: long enough (100 s of model time, a few seconds) to be stopped mid-run, with a
# checkpoint every 2 s of model time as the sign that a segment is simulating (its SIGTERM
# handler installed: a TERM before that would kill it).
# seqlearn-join in the job needs a Python with h5py.
for py in "${SEQLEARN_PYTHON:-}" python3 /usr/bin/python3; do
  [[ -n "$py" ]] && "$py" -c 'import h5py' 2>/dev/null && { export SEQLEARN_PYTHON=$py; break; }
done
chain_args="--network.grid 6x5 --run.protocol train:90000,test:10000 --output.checkpoint_every_ms 2000"
reference_job=$(SEQLEARN_ARGS=$chain_args \
  sbatch --parsable --export=ALL --ntasks=2 --output="$work/reference-%j.out" jobs/run.sbatch) || fail "sbatch reference"
chain_job=$(SEQLEARN_ARGS=$chain_args \
  sbatch --parsable --export=ALL --ntasks=2 --output="$work/chain-%j.out" jobs/run.sbatch) || fail "sbatch chain"
capped_job=$(SEQLEARN_ARGS=$chain_args SEQLEARN_MAX_SEGMENTS=1 \
  sbatch --parsable --export=ALL --ntasks=2 --output="$work/capped-%j.out" jobs/run.sbatch) || fail "sbatch capped"
# Parameter sweep: tools/seqlearn-sweep --slurm submits a 2x2 grid as one array job (4 tasks
# of 1 rank); --collect then writes summary.csv.
sweep=$work/sweep
sweep_out=$("${SEQLEARN_PYTHON:-/usr/bin/python3}" tools/seqlearn-sweep --param plasticity.learning_rate=0.05,0.1 \
  --param run.seed=1,2 --out "$sweep" --slurm -- --network.grid 3x3 --run.protocol train:200,test:200 \
  --record.neurons all 2>&1) || fail "seqlearn-sweep --slurm: $sweep_out"
sweep_job=$(sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p' <<<"$sweep_out")
[[ -n "$sweep_job" ]] || fail "seqlearn-sweep --slurm gave no job id: $sweep_out"
# stop_segment DIR K: once segment K of the chain in DIR has written a checkpoint, SIGTERM to
# its job's tasks (not the batch script, as SLURM's --signal without B:). Done once per K.
stopped=" "
stop_segment() {
  local dir=$1 k=$2 file job
  [[ "$stopped" == *" $dir:$k "* ]] && return
  file=$(printf '%s/segment-%03d.ckpt.h5' "$dir" "$k")
  [[ -f "$file" ]] || return
  job=$(sed -n "s/.* job \([0-9]*\) segment $k: started.*/\1/p" "$dir/chain.log" | head -1)
  [[ -n "$job" ]] || return
  scancel --signal=TERM "$job" && stopped+="$dir:$k "
}
for _ in $(seq 1 1500); do
  [[ -z "$(squeue -h 2>/dev/null)" ]] && break
  stop_segment "$results/run-$chain_job" 1
  stop_segment "$results/run-$chain_job" 2
  stop_segment "$results/run-$capped_job" 1
  sleep 0.2
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

# Parameter sweep.
sweep_states=$(scontrol show job "$sweep_job" | grep -o 'JobState=[A-Z_]*' | sort | uniq -c | xargs)
check "sweep: array job $sweep_job, 4 tasks completed ($sweep_states)" test "$sweep_states" = "4 JobState=COMPLETED"
check "sweep: 4 tasks with exit code 0" test "$(scontrol show job "$sweep_job" | grep -c 'ExitCode=0:0')" -eq 4
for lr in 0.05 0.1; do
  for seed in 1 2; do
    check "sweep: point lr=$lr seed=$seed written" test -s "$sweep/plasticity.learning_rate=$lr,run.seed=$seed.h5"
  done
done
for task in 0 1 2 3; do
  check "sweep: task $task ran the program under test" grep -qxF "seqlearn: program $binary" "$sweep/slurm-${sweep_job}_$task.out"
done
check "sweep: --collect writes summary.csv" "${SEQLEARN_PYTHON:-/usr/bin/python3}" tools/seqlearn-sweep --collect "$sweep"
check "sweep: summary.csv has the swept columns" grep -q '^point,plasticity.learning_rate,run.seed,status,' "$sweep/summary.csv"
check "sweep: summary.csv has 4 rows, all done" test "$(grep -c ',done,' "$sweep/summary.csv")" -eq 4 -a "$(wc -l <"$sweep/summary.csv")" -eq 5

# Restart chain.
chain=$results/run-$chain_job
reference=$results/run-$reference_job
echo "    chain.log:"; sed 's/^/    /' "$chain/chain.log" 2>/dev/null
chain_jobs=$(sed -n 's/.* job \([0-9]*\) segment [0-9]*: started.*/\1/p' "$chain/chain.log" 2>/dev/null | tr '\n' ' ')
check "reference job $reference_job completed with exit code 0" completed "$reference_job"
check "chain: 3 segments, as jobs $chain_jobs" test "$(wc -w <<<"$chain_jobs")" -eq 3
for id in $chain_jobs; do
  check "chain: job $id completed with exit code 0" completed "$id"
done
check "chain: segments 1 and 2 stopped by SIGTERM (exit 3)" test "$(grep -c 'stopped at step [0-9]* (exit 3)' "$chain/chain.log")" -eq 2
check "chain: complete after 3 segments, joined" grep -q "protocol complete after 3 segments; joined into $chain/run.h5" "$chain/chain.log"
for group in /spikes /input /traces /phases /network; do
  check "chain: joined $group identical to the uninterrupted run" h5diff -q "$chain/run.h5" "$reference/run.h5" $group $group
done
check "chain: /run records 3 segments" bash -c "h5dump -a /run/segments '$chain/run.h5' | grep -q '(0): 3'"
analyze() { ${SEQLEARN_PYTHON:-} tools/seqlearn-analyze "$@" >/dev/null; }
check "chain: seqlearn-analyze reads the joined run" analyze "$chain/run.h5" --json "$work/chain.analysis.json"
capped=$results/run-$capped_job
check "capped chain: exit code 3 at SEQLEARN_MAX_SEGMENTS=1" bash -c "scontrol show job $capped_job | grep -q 'ExitCode=3:0'"
check "capped chain: says how to continue" grep -q "SEQLEARN_MAX_SEGMENTS=1 reached; continue by hand: SEQLEARN_CHAIN_DIR=$capped SEQLEARN_CHAIN_SEGMENT=2 sbatch" "$capped/chain.log"
check "capped chain: checkpoint and complete segment output" test -s "$capped/segment-001.ckpt.h5" -a -s "$capped/segment-001.h5"
[[ $failures -eq 0 ]] && echo "SLURM jobs: all checks passed"
[[ $failures -eq 0 ]]
