#!/usr/bin/env bash
# On the 16-core machine, after bench/device/prepare.sh here (SEQLEARN_BIN_OLD: main's binary):
#   source .device/expose-libs.sh && SEQLEARN_BIN_OLD=... bash bench/device/auto_threads.sh
# --threads 0 (auto) as a user launches it without binding (mpirun --bind-to none, no OMP_*
# variables): R ranks on the 16 cores, with this program (each rank takes its share of the
# cores it shares with the others) and with SEQLEARN_BIN_OLD (each took all 16, at most one
# thread per 2 million synapses); beside them R ranks x 16/R threads as scripts/launch.sh
# binds them. 128x128 (fixed_indegree, periodic), MS ms with learning, one run each.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/device/lib.sh
old=${SEQLEARN_BIN_OLD:-}
MS=${MS:-500}
args=(--network.grid 128x128 --network.connectivity fixed_indegree --network.boundary periodic
      --run.protocol "train:$MS" --record.dt_rec 0 --output /tmp/auto.h5 --overwrite)
# row LABEL COMMAND...: the run's thread choice and its RTF.
row() {
  local label=$1 log
  shift
  log=$("$@" 2>&1)
  echo "| $label | $(sed -n 's/.*rank(s) x \([0-9]*\) thread(s) (\(.*\)); .*/\1 (\2)/p' <<<"$log" | head -1) |" \
       "$(sed -n 's/^bench:.* rtf=\([^ ]*\).*/\1/p' <<<"$log") |" \
       "$(grep -c 'warning' <<<"$log") |"
}
{
  echo "# --threads 0 under mpirun --bind-to none, $(date -u +%FT%TZ); cores $(seqlearn_cores)"
  echo
  echo "| launch | threads per rank (why) | RTF | warnings |"
  echo "|---|---|---|---|"
  for r in 1 2 4; do
    row "$r ranks, --bind-to none, --threads 0" env -u OMP_NUM_THREADS -u OMP_PROC_BIND -u OMP_PLACES \
      mpirun -n "$r" --bind-to none "$bin" --threads 0 "${args[@]}"
    [[ -n "$old" ]] && row "$r ranks, --bind-to none, --threads 0 (main)" env -u OMP_NUM_THREADS \
      -u OMP_PROC_BIND -u OMP_PLACES mpirun -n "$r" --bind-to none "$old" --threads 0 "${args[@]}"
    row "scripts/launch.sh $r $((16 / r)), --threads $((16 / r))" \
      bash scripts/launch.sh "$r" "$((16 / r))" "$bin" --threads "$((16 / r))" "${args[@]}"
  done
  echo
} | tee "$out/auto_threads.md"
