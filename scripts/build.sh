#!/usr/bin/env bash
# Configures and builds with a CMake preset: release (default), debug or asan.
# Usage: scripts/build.sh [PRESET] [extra cmake --build arguments, e.g. --target seqlearn_mpi]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
shift || true
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" "$@"
