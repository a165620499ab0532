#!/usr/bin/env bash
# What a rank pays per word it receives (docs/scaling.md, "walk"): receive_exchange alone on
# ${WORDS:-100000} spike words of ${CIRCUITS:-1000000} circuits per exchange (about a
# 1000x1000 grid's spikes of one step), for needed fractions 0 to 1, at ${STEPS:-1} step(s) per
# interval. At fraction 0 every word is one the rank does not need (issue 20: <= 3 ns).
# A benchmark: nothing fails on a slow machine.
# Usage: bench/exchange_walk.sh        CIRCUITS=65536 WORDS=6500 STEPS=3 bench/exchange_walk.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target bench_exchange >/dev/null
build/release/bench_exchange "${CIRCUITS:-1000000}" "${WORDS:-100000}" "${STEPS:-1}" "${RANKS:-64}"
