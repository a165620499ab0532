#!/usr/bin/env bash
# Benchmark: the default experiment (10x5 grid, 103 s) and a 4x larger grid (20x10, n_conn
# 4000 so that the mean in-degree stays 20), each at 1 and 2 ranks with ${THREADS:-1} thread(s)
# per rank, launched by scripts/launch.sh (each rank bound to its own cores; docs/parallel.md).
# Prints one table row per run; the figures come from seqlearn_mpi's own "bench:" line.
# Usage: bench/run.sh [extra seqlearn_mpi arguments]    (builds the release preset first)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh release --target seqlearn_mpi >/dev/null
source scripts/launch.sh
threads=${THREADS:-1}
out=results/bench
mkdir -p "$out"
binary=build/release/seqlearn_mpi
printf "%-22s %5s %7s %9s %9s %12s %12s %12s %9s %10s\n" run ranks threads simulate_s rtf spikes/s_wall events/s stdp_upd/s rss_MiB exchange_s
for grid in 10x5 20x10; do
  n_conn=1000
  [[ $grid == 20x10 ]] && n_conn=4000
  for ranks in 1 2; do
    seqlearn_launch "$ranks" "$threads"
    line=$("${SEQLEARN_MPIRUN[@]}" "$binary" --network.grid "$grid" --network.n_conn "$n_conn" \
             --threads "$threads" --output "$out/${grid}_np${ranks}.h5" --overwrite "$@" \
             2>/dev/null | grep '^bench:')
    get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    spikes_per_s=$(awk -v s="$(get spikes)" -v t="$(get simulate_s)" 'BEGIN { printf "%.3g", s / t }')
    printf "%-22s %5s %7s %9s %9s %12s %12s %12s %9s %10s\n" "$grid default protocol" "$ranks" "$(get threads)" \
      "$(get simulate_s)" "$(get rtf)" "$spikes_per_s" "$(get events_per_s)" "$(get stdp_per_s)" \
      "$(get peak_rss_mib)" "$(get exchange_s)"
  done
done
