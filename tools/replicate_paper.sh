#!/usr/bin/env bash
# The reference code's readout experiments (docs/model.md 11.4) as docs/replication.md reports
# them: every config of configs/paper/ at seeds 1-5, then tools/seqlearn-analyze on every run
# and tools/paper_report.py for the tables and the xor_pattern figure.
# Runs two simulations at a time, one rank each (results are identical for any rank count).
# pattern5A runs at seeds 10+N: at the same seed it is the same run as pattern4A (see its config).
# Usage: tools/replicate_paper.sh [SEEDS] [EXPERIMENTS]   e.g. tools/replicate_paper.sh "1 2" "xor"
# Output: results/paper/ (NAME_seedN.h5, .log, .analysis.json, report.md, xor_pattern.png).
set -euo pipefail
all="pattern1 sequence_parts pattern4A pattern5A xor xor_pattern no_stp no_variance_tracking multi"
usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; echo "Experiments: $all"; }
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
[[ $# -le 2 ]] || { usage >&2; exit 2; }
for seed in ${1:-}; do
  [[ "$seed" =~ ^[0-9]+$ ]] || { echo "tools/replicate_paper.sh: seed '$seed' is not a number (run.seed)" >&2; exit 2; }
done
for name in ${2:-}; do
  [[ " $all " == *" $name "* ]] || { echo "tools/replicate_paper.sh: no experiment '$name' (one of: $all)" >&2; exit 2; }
done
cd "$(dirname "$0")/.."
scripts/build.sh release --target seqlearn_mpi >/dev/null
source scripts/env.sh
source scripts/python.sh
seqlearn_python
seeds=${1:-"1 2 3 4 5"}
python_q=$(printf '%q' "$SEQLEARN_PYTHON")  # a path with blanks or $ stays one word, unexpanded
experiments=${2:-$all}
out=results/paper
mkdir -p "$out"
jobs=()
for name in $experiments; do
  for seed in $seeds; do
    [[ $name == pattern5A ]] && seed=$((10 + seed))
    run="$out/${name}_seed$seed"
    jobs+=("build/release/seqlearn_mpi --config configs/paper/$name.ini --threads 1 --seed $seed --output $run.h5 --overwrite >$run.log 2>&1 && $python_q tools/seqlearn-analyze $run.h5 >$run.analysis.txt 2>&1 || { echo 'failed: $run (see $run.log)' >&2; exit 1; }")
  done
done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -d '\n' -I{} bash -c "{}"
"$SEQLEARN_PYTHON" tools/paper_report.py "$out" | tee "$out/report.md"
