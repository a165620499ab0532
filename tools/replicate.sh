#!/usr/bin/env bash
# Replication study of docs/replication.md: every experiment at seeds 1-5, each from its config
# configs/NAME.ini (the report's config column), which holds the protocol
#   test:5000 (untrained) , train:T , test:20000 , test:20000     (T = 100 s, 200 s for several patterns)
# then seqlearn-analyze on every run and tools/replication_report.py for the tables.
# Runs two simulations at a time, one rank each. Usage: tools/replicate.sh [SEEDS]
# Output: results/replication/ (HDF5, *.analysis.json, figures, report.md).
set -euo pipefail
read -r -d '' -a seed_list <<<"${1:-1 2 3 4 5}" || true
for seed in "${seed_list[@]}"; do  # each job below is a command line run by bash -c: numbers only
  [[ "$seed" =~ ^[0-9]+$ ]] || { echo "tools/replicate.sh: seed '$seed' is not a number (run.seed)" >&2; exit 2; }
done
cd "$(dirname "$0")/.."
scripts/build.sh release --target seqlearn_mpi >/dev/null
source scripts/env.sh
source scripts/python.sh
seqlearn_python
seeds=${1:-"1 2 3 4 5"}
python_q=$(printf '%q' "$SEQLEARN_PYTHON")  # a path with blanks or $ stays one word, unexpanded
out=results/replication
mkdir -p "$out"

# The experiments, in the report's order: configs/NAME.ini each.
experiments=(full_scale no_variance_tracking no_stp pattern_100ms pattern_900ms two_patterns sequence_task
  sequence_task_warped_test)
jobs=()
for name in "${experiments[@]}"; do
  for seed in $seeds; do
    jobs+=("build/release/seqlearn_mpi --config configs/$name.ini --threads 1 --seed $seed --output $out/${name}_seed$seed.h5 --overwrite >$out/${name}_seed$seed.log 2>&1 && $python_q tools/seqlearn-analyze $out/${name}_seed$seed.h5 >/dev/null")
  done
done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -d '\n' -I{} bash -c "{}"
for name in "${experiments[@]}"; do
  "$SEQLEARN_PYTHON" tools/seqlearn-plot "$out/${name}_seed1.h5" --out "$out/figures_$name" --phase 0 --phase 2 --window 3000 >/dev/null
done
"$SEQLEARN_PYTHON" tools/replication_report.py "$out" | tee "$out/report.md"
