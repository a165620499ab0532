#!/usr/bin/env bash
# Quick start 1: install what is missing, build, run the default experiment (the thesis's
# full-scale run: 10x5 grid, train 100 s, test 3 s) on 2 MPI ranks into results/default.h5,
# then draw its figures (results/default_figures/) and print its analysis
# (results/default.analysis.json). Arguments go to seqlearn_mpi (e.g. --overwrite, --seed 3,
# --config configs/no_stp.ini); SEQLEARN_RANKS sets the rank count.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
scripts/build.sh release --target seqlearn_mpi
source scripts/env.sh
ranks=${SEQLEARN_RANKS:-2}
oversubscribe=()
if (( ranks > $(nproc) )); then oversubscribe=(--oversubscribe); fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
mpirun -n "$ranks" "${oversubscribe[@]}" build/release/seqlearn_mpi "$@" | tee "$log"
output=$(sed -n 's/^output written to //p' "$log")
[[ -n "$output" ]] || exit 0  # --help, --version
tools/seqlearn-plot "$output" --out "${output%.h5}_figures"
tools/seqlearn-analyze "$output"
