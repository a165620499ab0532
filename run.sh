#!/usr/bin/env bash
# Quick start 1: install what is missing, build, run the default experiment (the thesis's
# full-scale run: 10x5 grid, train 100 s, test 3 s) on 2 MPI ranks into results/default.h5,
# then draw its figures (results/default_figures/) and print its analysis
# (results/default.analysis.json). Arguments go to seqlearn_mpi (e.g. --overwrite, --seed 3,
# --config configs/no_stp.ini); SEQLEARN_RANKS sets the rank count (default 2) and
# SEQLEARN_THREADS the OpenMP threads per rank (default 1, passed as --threads; a --threads N
# among the arguments wins). The launch line comes from scripts/launch.sh (docs/parallel.md):
# each rank bound to its own SEQLEARN_THREADS cores when ranks x threads fit the cores.
# Ctrl-C or SIGTERM to run.sh stops every rank at the same step with a checkpoint and a
# complete output (exit code 3, no figures); see docs/checkpoint.md.
# The figures and the analysis use a python3 with h5py, numpy and matplotlib: SEQLEARN_PYTHON,
# else python3 on PATH, else /usr/bin/python3 (scripts/python.sh). On a system other than
# Debian/Ubuntu nothing is installed: load the dependencies first (docs/cluster.md).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh run
source scripts/python.sh
seqlearn_python || echo "run.sh: the run goes ahead, without figures or analysis" >&2
scripts/build.sh release --target seqlearn_mpi
source scripts/launch.sh
ranks=${SEQLEARN_RANKS:-2}
threads=${SEQLEARN_THREADS:-1}
threads_arg=(--threads "$threads")
previous=""
for arg in "$@"; do  # --threads N in the arguments: bind for N threads, pass it once
  if [[ "$previous" == --threads || "$previous" == --run.threads ]]; then
    threads=$arg threads_arg=()
  elif [[ "$arg" == --threads=* || "$arg" == --run.threads=* ]]; then
    threads=${arg#*=} threads_arg=()
  fi
  previous=$arg
done
seqlearn_launch "$ranks" "$threads"
program=(build/release/seqlearn_mpi "${threads_arg[@]}" "$@")
echo "run.sh: $(seqlearn_launch_line) ${program[*]}" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Ctrl-C or SIGTERM: seqlearn_guarded turns it into a clean stop of every rank (checkpoint,
# complete output, exit code 3; docs/checkpoint.md); tee ignores it so that nothing is lost.
exec 3> >(trap '' INT TERM; exec tee "$log")
tee_pid=$!
code=0
seqlearn_guarded "${SEQLEARN_MPIRUN[@]}" "${program[@]}" >&3 || code=$?
exec 3>&-
wait "$tee_pid" 2>/dev/null || true
((code == 0)) || exit "$code"
output=$(sed -n 's/^output written to //p' "$log")
[[ -n "$output" ]] || exit 0  # --help, --version
[[ -n "${SEQLEARN_PYTHON:-}" ]] || { echo "run.sh: no figures or analysis of $output (no python3 with h5py, numpy, matplotlib)" >&2; exit 1; }
"$SEQLEARN_PYTHON" tools/seqlearn-plot "$output" --out "${output%.h5}_figures"
"$SEQLEARN_PYTHON" tools/seqlearn-analyze "$output"
