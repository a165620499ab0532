#!/usr/bin/env bash
# Quick start 2: install what is missing, build everything (release preset) and run every
# test: unit tests, MPI tests at 1-4 ranks, command-line tests.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh test
scripts/build.sh release
source scripts/env.sh
ctest --preset release -j "$(nproc)"
