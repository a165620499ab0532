#!/usr/bin/env bash
# Threads as the README launches them (scripts/launch.sh: each rank bound to T cores of its
# own): 1 rank x 1 thread against 1 rank x 2 threads on the default experiment (10x5, 103 s)
# and on the 128x128 strong-scaling grid (fixed_indegree, periodic, ${MS:-300} ms of learning,
# no recording). Prints the real-time factor, STDP synapse updates per wall second and the
# speedup of 2 threads; checks that both thread counts give the same spikes. A benchmark:
# needs 2 free cores to mean anything, and nothing fails on a slow machine.
# Usage: bench/threads.sh        MS=1000 bench/threads.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/release/seqlearn_mpi ]] || scripts/build.sh release --target seqlearn_mpi >/dev/null
source scripts/launch.sh
binary=build/release/seqlearn_mpi
out=${OUT:-results/bench_threads}
mkdir -p "$out"
ms=${MS:-300}
declare -A runs=(
  [default]=""
  [128x128]="--network.grid 128x128 --network.connectivity fixed_indegree --network.boundary periodic --run.protocol train:$ms --record.dt_rec 0 --record.synapses false"
)
printf "| run | threads | rtf | STDP updates / s | speedup |\n|---|---|---|---|---|\n"
for run in default 128x128; do
  declare -A rtf=()
  for threads in 1 2; do
    seqlearn_launch 1 "$threads" 2>/dev/null
    # shellcheck disable=SC2086
    line=$("${SEQLEARN_MPIRUN[@]}" "$binary" ${runs[$run]} --threads "$threads" \
             --output "$out/${run}_t$threads.h5" --overwrite 2>/dev/null | grep '^bench:')
    get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    rtf[$threads]=$(get rtf)
    speedup=$(awk -v a="${rtf[1]}" -v b="${rtf[$threads]}" 'BEGIN { printf "%.2f", a / b }')
    printf "| %s | %s | %s | %s | %s |\n" "$run" "$threads" "$(get rtf)" "$(get stdp_per_s)" "$speedup"
  done
  h5diff "$out/${run}_t1.h5" "$out/${run}_t2.h5" /spikes /spikes >/dev/null ||
    { echo "threads: $run: 1 and 2 threads gave different spikes" >&2; exit 1; }
done
