#!/usr/bin/env bash
# xor_pattern (docs/model.md 11.4) over many seeds, with the input-synapse control and a short
# sweep of network.p_conn, as docs/replication.md reports them: configs/paper/xor_pattern.ini at
# seeds 1-10 for each variant, tools/seqlearn-analyze on every run, then
# tools/xor_pattern_figure.py for the table and the figure (docs/figures/xor_pattern.png).
# Variants: as_configured (p_conn 0.1, input synapses learning, the reference's setting),
# fixed_inputs (--plasticity.train_inputs false), p_conn_0.3, p_conn_1 (--network.p_conn).
# Runs two simulations at a time, one rank each; the .h5 files (about 0.5 GB each) are deleted
# once analysed unless KEEP_H5=1.
# Usage: tools/replicate_xor_pattern.sh [SEEDS] [VARIANTS]   e.g. tools/replicate_xor_pattern.sh "1 2" "fixed_inputs"
# Output: results/xor_pattern/ (VARIANT_seedN.log, .analysis.json, report.md, xor_pattern.png).
set -euo pipefail
all="as_configured fixed_inputs p_conn_0.3 p_conn_1"
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; echo "Variants: $all"; }
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
[[ $# -le 2 ]] || { usage >&2; exit 2; }
for seed in ${1:-}; do
  [[ "$seed" =~ ^[0-9]+$ ]] || { echo "tools/replicate_xor_pattern.sh: seed '$seed' is not a number (run.seed)" >&2; exit 2; }
done
for name in ${2:-}; do
  [[ " $all " == *" $name "* ]] || { echo "tools/replicate_xor_pattern.sh: no variant '$name' (one of: $all)" >&2; exit 2; }
done
cd "$(dirname "$0")/.."
scripts/build.sh release --target seqlearn_mpi >/dev/null
source scripts/env.sh
source scripts/python.sh
seqlearn_python
seeds=${1:-"1 2 3 4 5 6 7 8 9 10"}
python_q=$(printf '%q' "$SEQLEARN_PYTHON")
variants=${2:-$all}
out=results/xor_pattern
mkdir -p "$out"
option() {
  case $1 in
    as_configured) echo "" ;;
    fixed_inputs) echo "--plasticity.train_inputs false" ;;
    p_conn_*) echo "--network.p_conn ${1#p_conn_}" ;;
  esac
}
jobs=()
for name in $variants; do
  for seed in $seeds; do
    run="$out/${name}_seed$seed"
    remove="rm -f $run.h5"
    [[ "${KEEP_H5:-0}" == 1 ]] && remove=true
    jobs+=("build/release/seqlearn_mpi --config configs/paper/xor_pattern.ini $(option "$name") --threads 1 --seed $seed --output $run.h5 --overwrite >$run.log 2>&1 && $python_q tools/seqlearn-analyze $run.h5 >$run.analysis.txt 2>&1 && $remove || { echo 'failed: $run (see $run.log)' >&2; exit 1; }")
  done
done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -d '\n' -I{} bash -c "{}"
"$SEQLEARN_PYTHON" tools/xor_pattern_figure.py "$out" "$out/xor_pattern.png" | tee "$out/report.md"
