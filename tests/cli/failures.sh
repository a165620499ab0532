#!/usr/bin/env bash
# Checkpoint, restart and failure behaviour of the program as users run it (issue 3):
#  1. a learning run checkpointed at 10 s on 2 ranks, restored on 3 ranks for 5 s more, gives
#     the spikes and final weights of an uninterrupted 15 s run on 1 rank;
#  2. SIGTERM to a running 2-rank job: exit code 3, a resume hint, a checkpoint, a complete
#     output file; resumed on 3 ranks it matches the uninterrupted run;
#  3. a fault injected on rank 1 of 3 ends the whole job, non-zero, within 30 s (about 2 s on an
#     idle machine; 60 s is a hang);
#  4. a trained checkpoint restored into test phases with other input settings runs;
#  5. extreme valid settings never write non-finite values: they run, or stop with a message
#     naming the step and neuron (and write nothing);
#  6. a disk too small for the run is a bad-input error before anything is simulated;
#  7. stop signals arriving all the time, up to the ranks' exit (after a stop, mpirun sends
#     SIGTERM to the ranks still finalising): exit code 3 every time, never a crash;
#  8. a stop request after the last step, while the output is written: exit code 0, no
#     checkpoint, and a note that says so (it promised a checkpoint that never came).
# Usage: failures.sh SEQLEARN_MPI
set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cli_begin failures.sh "${1:-}"
# same_after A B STEP: spikes of A from STEP on equal B's, and final weights equal.
same_after() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import sys, h5py, numpy as np
a, b, first = h5py.File(sys.argv[1]), h5py.File(sys.argv[2]), int(sys.argv[3])
def spikes(f):
    s, n = f["spikes/step"][()], f["spikes/neuron"][()]
    keep = s >= first
    return sorted(zip(s[keep].tolist(), n[keep].tolist()))
ok = spikes(a) == spikes(b) and len(spikes(a)) > 100
ok &= np.array_equal(a["network/synapses/weight"][()], b["network/synapses/weight"][()])
sys.exit(0 if ok else 1)
PY
}
small=(--network.grid 6x5 --record.dt_rec 100 --threads 1)

# 1. Checkpoint at 10 s on 2 ranks, restore on 3 ranks.
mpirun -n 1 "$binary" "${small[@]}" --run.protocol train:10000,train:5000 --output whole.h5 >/dev/null 2>&1
mpirun -n 2 --oversubscribe "$binary" "${small[@]}" --run.protocol train:10000 --output.checkpoint_every_ms 10000 \
  --output first.h5 >/dev/null 2>&1
check "checkpoint written beside the output" test -f first.ckpt.h5 -a ! -e first.ckpt.h5.partial
mpirun -n 3 --oversubscribe "$binary" --restore first.ckpt.h5 --run.protocol train:5000 --output rest.h5 \
  >/dev/null 2>"err1"
check "restore on 3 ranks ran" test -f rest.h5
check "np 2 -> checkpoint -> np 3 equals uninterrupted np 1" same_after whole.h5 rest.h5 10000

# 2. SIGTERM to the ranks of a running job (not to mpirun: SLURM signals every task).
long=(--run.protocol train:600000,test:3000)
mpirun -n 2 --oversubscribe "$binary" "${small[@]}" "${long[@]}" --output cut.h5 >cut.log 2>&1 &
job=$!
sleep 2.0
pkill -TERM -f "^$binary .*--output cut.h5"
wait $job
code=$?
check "SIGTERM: exit code 3" test $code -eq 3
check "SIGTERM: says how to resume" grep -q "Resume with: mpirun -n 2 seqlearn_mpi --restore cut.ckpt.h5" cut.log
check "SIGTERM: checkpoint written" test -f cut.ckpt.h5
check "SIGTERM: output complete and readable" bash -c "h5ls cut.h5/spikes >/dev/null"
check "SIGTERM: no partial files" bash -c '! ls *.partial 2>/dev/null | grep -q .'
mpirun -n 3 --oversubscribe "$binary" --restore cut.ckpt.h5 --output resumed.h5 >/dev/null 2>&1
mpirun -n 1 "$binary" "${small[@]}" "${long[@]}" --output uncut.h5 >/dev/null 2>&1
stop_step=$(/usr/bin/python3 -c "import h5py; print(int(h5py.File('resumed.h5')['input/pattern_id'].attrs['first_step']))")
check "SIGTERM: stopped mid-phase (step $stop_step)" test "$stop_step" -gt 0 -a "$stop_step" -lt 600000
check "SIGTERM: resumed on 3 ranks equals the uninterrupted run" same_after uncut.h5 resumed.h5 "$stop_step"

# 3. A fault on one rank ends the job promptly.
start=$(date +%s)
SEQLEARN_TEST_FAULT=1:500 timeout 60 mpirun -n 3 --oversubscribe "$binary" "${small[@]}" "${long[@]}" \
  --output fault.h5 >fault.log 2>&1
code=$?
check "fault on rank 1 of 3: non-zero exit (got $code), not a timeout" test $code -ne 0 -a $code -ne 124
check "fault: the failing rank says so" grep -q "rank 1: fatal error.*injected fault" fault.log
check "fault: over within 30 s (about 2 s unloaded)" test $(( $(date +%s) - start )) -le 30
check "fault: no result file" test ! -e fault.h5

# 4. Reuse a trained network: test phases only, other input settings.
mpirun -n 2 --oversubscribe "$binary" --restore first.ckpt.h5 --run.protocol test:2000 --test.r_noise 0 \
  --test.time_warp_range 0.5,2 --output reuse.h5 >/dev/null 2>&1
check "trained checkpoint reused in a new test protocol" bash -c "h5ls reuse.h5/spikes >/dev/null"

# 5. Numerical safety at extreme valid settings.
for extreme in "--input.r_input 1000 --input.r_noise 1000" "--neuron.r_max 100000" \
               "--network.n_inputs 3000 --input.r_input 100" "--plasticity.learning_rate 1000"; do
  rm -f extreme.h5
  # shellcheck disable=SC2086
  mpirun -n 2 --oversubscribe "$binary" --network.grid 3x3 --run.protocol train:5000 --output extreme.h5 $extreme \
    >extreme.log 2>&1
  code=$?
  if [[ $code -eq 0 ]]; then
    check "extreme '$extreme': all values finite" /usr/bin/python3 -c "
import h5py, numpy as np, sys
f = h5py.File('extreme.h5')
sys.exit(0 if all(np.isfinite(f[k][()]).all() for k in ('network/synapses/weight', 'traces/u', 'traces/p')) else 1)"
  else
    check "extreme '$extreme': stopped naming step and neuron" grep -q "diverged at step [0-9]*: neuron [0-9]*" extreme.log
    check "extreme '$extreme': nothing written" test ! -e extreme.h5
  fi
done

# 6. Not enough space for the output (a 2 MB tmpfs; needs root, as in CI).
mkdir -p tiny
if mount -t tmpfs -o size=2m tmpfs tiny 2>/dev/null; then
  mpirun -n 2 --oversubscribe "$binary" --output tiny/run.h5 >/dev/null 2>disk.log
  code=$?
  check "full disk: exit code 2" test $code -eq 2
  check "full disk: says how much is needed" grep -q "output.file 'tiny/run.h5': the run needs about .* MB free" disk.log
  check "full disk: nothing written" test -z "$(ls tiny)"
  umount tiny
else
  echo "skip full-disk check: cannot mount a tmpfs here (not root?)"
fi

# 7. SIGUSR1 every 2 ms to both ranks, from their handlers being ready (SEQLEARN_READY_DIR) until
# they exit. A handler that ran after the simulator was destroyed wrote into its old stack frame:
# half of such runs ended with signal 11, 4 or 6 (exit 139, 132, 134).
for i in 1 2 3 4 5 6 7 8; do
  rm -rf "ready$i" && mkdir "ready$i"
  SEQLEARN_READY_DIR="$PWD/ready$i" timeout 120 mpirun -n 2 --oversubscribe "$binary" "${small[@]}" \
    --run.protocol train:2000 --output "storm$i.h5" >"storm$i.log" 2>&1 &
  job=$!
  for _ in $(seq 1 3000); do
    [[ $(find "ready$i" -name 'ready.*' | wc -l) -ge 2 ]] && break
    sleep 0.01
  done
  pids=$(find "ready$i" -name 'ready.*' -printf '%f\n' | sed 's/^ready\.//')
  # shellcheck disable=SC2086  # a list of PIDs
  (while kill -USR1 $pids 2>/dev/null; do sleep 0.002; done) &
  wait $job
  code=$?
  check "stop signals until exit, run $i: exit code 3 (got $code)" test $code -eq 3
  check "stop signals until exit, run $i: output complete" bash -c "h5ls storm$i.h5/spikes >/dev/null"
done

# 8. SIGTERM once the progress line says 100 %: the output of every neuron's traces at every
# step takes a few hundred ms to write, so the signal lands in it.
"$binary" --network.grid 24x24 --network.connectivity fixed_indegree --run.protocol train:300 \
  --record.neurons all --record.dt_rec 1 --record.weight_traces false --output late.h5 >late.log 2>&1 &
job=$!
for _ in $(seq 1 6000); do
  grep -q "100.0%" late.log && break
  sleep 0.005
done
if pkill -TERM -f "^$binary .*--output late.h5"; then
  wait $job
  code=$?
  check "stop after the last step: exit code 0 (got $code)" test $code -eq 0
  check "stop after the last step: no checkpoint" test ! -e late.ckpt.h5
  check "stop after the last step: output complete" bash -c "h5ls late.h5/spikes >/dev/null"
  check "stop after the last step: the note says the run ends normally, with no checkpoint" \
    grep -q "^seqlearn_mpi: stop requested after the last step: .*no checkpoint is written" late.log
  check "stop after the last step: no promise of a checkpoint" bash -c '! grep -q "write the checkpoint" late.log'
else
  wait $job
  echo "skip: the run had ended before the signal (a loaded machine)"
fi

cli_end "failure behaviour"
