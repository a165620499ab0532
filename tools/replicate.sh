#!/usr/bin/env bash
# Replication study of docs/replication.md: every experiment at seeds 1-5 with the protocol
#   test:5000 (untrained) , train:T , test:20000 , test:20000
# then seqlearn-analyze on every run and tools/replication_report.py for the tables.
# Runs two simulations at a time, one rank each. Usage: tools/replicate.sh [SEEDS]
# Output: results/replication/ (HDF5, *.analysis.json, figures, report.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh release --target seqlearn_mpi >/dev/null
source scripts/env.sh
source scripts/python.sh
seqlearn_python
seeds=${1:-"1 2 3 4 5"}
out=results/replication
mkdir -p "$out"

# name | training ms | extra arguments
experiments=(
  "full_scale|100000|"
  "no_variance_tracking|100000|--plasticity.schedule inverse_time"
  "no_stp|100000|--plasticity.use_stp false"
  "pattern_100ms|100000|--input.t_pattern 100"
  "pattern_900ms|100000|--input.t_pattern 900"
  "two_patterns|200000|--input.n_patterns 2 --input.pattern_sequences '0;1'"
  "sequence_task|200000|--input.n_patterns 3 --input.pattern_sequences '0,1;2'"
  "sequence_task_warped_test|200000|--input.n_patterns 3 --input.pattern_sequences '0,1;2' --test.time_warp_range 0.5,2"
)
jobs=()
for entry in "${experiments[@]}"; do
  IFS='|' read -r name train extra <<<"$entry"
  for seed in $seeds; do
    jobs+=("build/release/seqlearn_mpi --threads 1 --seed $seed --run.protocol test:5000,train:$train,test:20000,test:20000 $extra --output $out/${name}_seed$seed.h5 --overwrite >$out/${name}_seed$seed.log 2>&1 && $SEQLEARN_PYTHON tools/seqlearn-analyze $out/${name}_seed$seed.h5 >/dev/null")
  done
done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -d '\n' -I{} bash -c "{}"
for entry in "${experiments[@]}"; do
  name=${entry%%|*}
  "$SEQLEARN_PYTHON" tools/seqlearn-plot "$out/${name}_seed1.h5" --out "$out/figures_$name" --phase 0 --phase 2 --window 3000 >/dev/null
done
"$SEQLEARN_PYTHON" tools/replication_report.py "$out" | tee "$out/report.md"
