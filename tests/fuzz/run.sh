#!/usr/bin/env bash
# Fuzzes the configuration and forced-spike parsers with libFuzzer (clang, ASan + UBSan) for a
# bounded time each, seeded with the repository's configs and CSV files. Fails on any crash,
# sanitizer report, unexpected exception or hang.
# Usage: tests/fuzz/run.sh [SECONDS_PER_HARNESS (default 20)] [BUILD_DIR (default build/fuzz)] [--no-build]
# BUILD_DIR holds the harnesses fuzz_config and fuzz_forced_spikes, built by CMake (tests/fuzz/
# CMakeLists.txt: the main build with SEQLEARN_FUZZ=ON puts them in <build>/fuzz, as for the
# CTest entry fuzz_parsers, which passes --no-build and so never compiles). Without
# --no-build, BUILD_DIR is (configured if new and) built here first, as its own CMake project
# with clang++.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-20}
build=${2:-$root/build/fuzz}
no_build=${3:-}
harnesses=(fuzz_config fuzz_forced_spikes)
if [[ $no_build == --no-build ]]; then
  for harness in "${harnesses[@]}"; do
    [[ -x "$build/$harness" ]] || { echo "FAIL no $harness in $build: build it (cmake --build with -DSEQLEARN_FUZZ=ON)"; exit 1; }
  done
else  # (re)build: make rebuilds what src/config.cpp or a harness changed
  [[ -f "$build/CMakeCache.txt" ]] || cmake -S "$root/tests/fuzz" -B "$build" -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  cmake --build "$build" -j 2 >/dev/null
fi
corpus=$build/corpus
rm -rf "$corpus"
mkdir -p "$corpus/config" "$corpus/forced"
i=0
for f in "$root"/configs/*.ini; do i=$((i + 1)); { printf '\x02'; cat "$f"; } >"$corpus/config/ini$i"; done
printf '\x00network.grid=3x3\nrun.protocol=train:100\n' >"$corpus/config/kv"
printf '\x01--network.grid\x003x3\x00--seed\x007' >"$corpus/config/argv"
# Inputs that once failed (tests/fuzz/regressions/: config_* for fuzz_config), run every time.
for f in "$root"/tests/fuzz/regressions/config_*; do [[ -f "$f" ]] && cp "$f" "$corpus/config/"; done
cp "$root"/tests/cli/data/*.csv "$root"/configs/toy/*.csv "$corpus/forced/"
status=0
for harness in "${harnesses[@]}"; do
  dir=$corpus/${harness#fuzz_}
  [[ $harness == fuzz_forced_spikes ]] && dir=$corpus/forced
  echo "fuzzing $harness ($build/$harness) for $seconds s"
  if ! "$build/$harness" "$dir" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
       -artifact_prefix="$build/$harness-" >"$build/$harness.log" 2>&1; then
    echo "FAIL $harness: see $build/$harness.log"; tail -30 "$build/$harness.log"; status=1
  else
    echo "ok   $harness: $(grep -o 'Done [0-9]* runs' "$build/$harness.log")"
  fi
done
exit $status
