#!/usr/bin/env bash
# The halo of strips (today's partition) and of 2-D tiles (docs/scaling.md): sources whose
# traces all ranks advance, / neurons, for ${GRID:-256x256} fixed_indegree periodic at
# ${RANKS:-"1 16 32 64 256 1024"} ranks. Builds the network once per rank count (no run).
# Usage: bench/halo.sh        GRID=1000x1000 RANKS="64 256 1024" bench/halo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target bench_halo >/dev/null
# shellcheck disable=SC2086  # RANKS is a list of numbers
build/release/bench_halo "${GRID:-256x256}" ${RANKS:-1 16 32 64 256 1024}
