#!/usr/bin/env bash
# What oversubscription alone costs a rank's step loop, apart from any decomposition: the local
# problem of one weak-scaling rank (a ${GRID:-32x32} grid, fixed_indegree, periodic,
# train:${MS:-300}, no recording) run once alone ${SOLO:-3} times, then as ${COPIES:-64}
# independent single-process jobs at once (no MPI communication, no halo: each is a whole
# network). Prints compute_cpu_s_sum (CPU seconds of the step loop) of the solo runs and the
# median and maximum over the copies. The slowest rank of a weak-scaling run
# (bench/work_inflation.sh, docs/scaling.md section 4) pays this and the decomposition on top.
# Usage: bench/oversubscription.sh      COPIES=32 GRID=32x32 MS=300 bench/oversubscription.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SEQLEARN_BIN:-build/release/seqlearn_mpi}
[[ -x "$bin" ]] || scripts/build.sh release --target seqlearn_mpi >/dev/null
source scripts/env.sh
grid=${GRID:-32x32} ms=${MS:-300} copies=${COPIES:-64} solo=${SOLO:-3}
for value in "$ms" "$copies" "$solo"; do
  [[ "$value" =~ ^[1-9][0-9]{0,5}$ ]] || { echo "bench/oversubscription.sh: MS, COPIES and SOLO must be whole numbers > 0" >&2; exit 2; }
done
[[ "$grid" =~ ^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$ ]] || { echo "bench/oversubscription.sh: GRID must be RxC" >&2; exit 2; }
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(--network.grid "$grid" --network.connectivity fixed_indegree --network.boundary periodic
      --run.protocol "train:$ms" --record.dt_rec 0 --record.synapses false --run.threads 1)
cpu_of() { sed -n 's/.* compute_cpu_s_sum=\([^ ]*\).*/\1/p' "$1" | head -1; }
summary() { sort -g | awk '{ v[NR] = $1 } END { printf "median %s max %s (%d runs)\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[NR], NR }'; }
# A single process initialises MPI by itself (singleton): no launcher between the copies.
for i in $(seq 1 "$solo"); do
  "$bin" "${args[@]}" --output.file "$work/solo$i.h5" >"$work/solo$i.log" 2>&1
done
echo "grid $grid, train:$ms, one process alone:      $(for i in $(seq 1 "$solo"); do cpu_of "$work/solo$i.log"; done | summary)"
for i in $(seq 1 "$copies"); do
  "$bin" "${args[@]}" --output.file "$work/copy$i.h5" >"$work/copy$i.log" 2>&1 &
done
wait
for i in $(seq 1 "$copies"); do
  [[ -n "$(cpu_of "$work/copy$i.log")" ]] || { echo "bench/oversubscription.sh: copy $i failed:" >&2; tail -3 "$work/copy$i.log" >&2; exit 1; }
done
echo "grid $grid, train:$ms, $copies copies at once: $(for i in $(seq 1 "$copies"); do cpu_of "$work/copy$i.log"; done | summary)"
