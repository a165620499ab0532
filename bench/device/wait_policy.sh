#!/usr/bin/env bash
# On the 16-core machine, after bench/device/prepare.sh here (../shared/device/README.md):
#   source .device/expose-libs.sh && bash bench/device/wait_policy.sh
# Whether OMP_WAIT_POLICY=active (threads spin at barriers) beats the runtime's default (spin
# briefly, then sleep; what scripts/launch.sh leaves when every thread has a core of its own),
# alternating the two, each point launched by scripts/launch.sh R T:
#   the default experiment at 1 x 2 (REPS runs each, and 1 x 1 beside them),
#   128x128 train:500 at 1 x 2, 64x64 train:1000 at 1 x 4, 256x256 train:MS at 8 x 2 (2 each).
# A table on stdout and in $OUT/wait_policy.md; the bench: lines in $OUT/wait_policy_runs.txt.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/device/lib.sh
REPS=${REPS:-8}
MS=${MS:-500}
runs=$out/wait_policy_runs.txt
: >"$runs"
grid=(--network.connectivity fixed_indegree --network.boundary periodic)
for ((i = 0; i < REPS; ++i)); do
  point "default 1x1" 1 1 "$bin"
  point "default 1x2 default" 1 2 "$bin"
  POINT_WAIT_POLICY=active point "default 1x2 active" 1 2 "$bin"
done
for ((i = 0; i < 2; ++i)); do
  for policy in default active; do
    [[ $policy == active ]] && export POINT_WAIT_POLICY=active || unset POINT_WAIT_POLICY
    point "128x128 1x2 $policy" 1 2 "$bin" --network.grid 128x128 "${grid[@]}" --run.protocol train:500
    point "64x64 1x4 $policy" 1 4 "$bin" --network.grid 64x64 "${grid[@]}" --run.protocol train:1000
    point "256x256 8x2 $policy" 8 2 "$bin" --network.grid 256x256 "${grid[@]}" --run.protocol "train:$MS"
  done
done
unset POINT_WAIT_POLICY
{
  echo "# OMP_WAIT_POLICY on the lent machine, $(date -u +%FT%TZ); cores $(seqlearn_cores)"
  echo
  echo "| run | policy | RTF median | RTF runs |"
  echo "|---|---|---|---|"
  for run in "default 1x1" "default 1x2" "128x128 1x2" "64x64 1x4" "256x256 8x2"; do
    for policy in default active; do
      label="$run $policy"
      [[ $run == "default 1x1" ]] && { [[ $policy == default ]] && label=$run || continue; }
      echo "| $run | $policy | $(field "$label" rtf | median) | $(field "$label" rtf | tr '\n' ' ')|"
    done
  done
  echo
  echo "done $(date -u +%FT%TZ)"
} | tee "$out/wait_policy.md"
