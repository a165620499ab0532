#!/usr/bin/env bash
# Scaling measurements without SLURM (mpirun): the same points as jobs/strong_scaling.sbatch
# and jobs/weak_scaling.sbatch.
#   strong: a fixed ${GRID:-256x256} grid; weak: ${BLOCK:-64x64} circuits per rank; both
#   fixed_indegree, periodic, ${MS:-1000} ms of model time, ranks ${RANKS:-"1 2"}, each with
#   ${THREADS:-1} OpenMP thread(s), launched by scripts/launch.sh: every rank bound to its own
#   THREADS cores while ranks x threads fit the cores, else oversubscribed and unbound.
# Strong points are checked to be identical (h5diff). Tables: results/scaling/{strong,weak}/.
# Usage: bench/scaling.sh            RANKS="1 2 4 8 16" bench/scaling.sh   (on a 16-core machine)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -n "${SEQLEARN_BIN:-}" || -x build/release/seqlearn_mpi ]] || scripts/build.sh release --target seqlearn_mpi >/dev/null
source scripts/launch.sh
export SEQLEARN_RANKS=${RANKS:-"1 2"} SEQLEARN_THREADS=${THREADS:-1}
export SEQLEARN_LAUNCHER=seqlearn_mpirun  # R, then the program (jobs/lib.sh run_point)
SLURM_SUBMIT_DIR=$PWD
source jobs/lib.sh
out=${SEQLEARN_RESULTS_SCALING:-results/scaling}
grid=${GRID:-256x256}
block=${BLOCK:-64x64}
ms=${MS:-1000}
block_dims=$(seqlearn_block BLOCK "$block") || exit 2
block_rows=${block_dims% *} block_cols=${block_dims#* }
rank_counts=$(rank_list 1) || exit 2  # RANKS, each checked (jobs/lib.sh)
first=""
for ranks in $rank_counts; do
  run_point "$out/strong/np$ranks" "$ranks" --network.grid "$grid" --network.connectivity fixed_indegree \
    --network.boundary periodic --run.protocol "train:$ms" --record.dt_rec 100
  if [[ -z "$first" ]]; then first=$out/strong/np$ranks; else same_result "$first" "$out/strong/np$ranks"; fi
done
echo "strong scaling points identical to $first"
for ranks in $rank_counts; do
  run_point "$out/weak/np$ranks" "$ranks" --network.grid "$((block_rows * ranks))x${block_cols}" \
    --network.connectivity fixed_indegree --network.boundary periodic --run.protocol "train:$ms" --record.dt_rec 0
done
if "$SEQLEARN_PYTHON" -c "import matplotlib" 2>/dev/null; then  # jobs/lib.sh chose it
  echo "## strong scaling ($grid)"; "$SEQLEARN_PYTHON" tools/seqlearn-scaling "$out/strong"
  echo "## weak scaling ($block per rank)"; "$SEQLEARN_PYTHON" tools/seqlearn-scaling "$out/weak" --weak
fi
