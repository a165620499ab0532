#!/usr/bin/env bash
# Fuzzes the configuration and forced-spike parsers with libFuzzer (clang, ASan + UBSan) for a
# bounded time each, seeded with the repository's configs and CSV files. Fails on any crash,
# sanitizer report, unexpected exception or hang.
# Usage: tests/fuzz/run.sh [SECONDS_PER_HARNESS (default 20)] [BUILD_DIR (default build/fuzz)]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-20}
build=${2:-$root/build/fuzz}
mkdir -p "$build"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I"$root/include")
for harness in fuzz_config fuzz_forced_spikes; do
  if [[ ! -x "$build/$harness" || "$root/src/config.cpp" -nt "$build/$harness" || "$root/tests/fuzz/$harness.cpp" -nt "$build/$harness" ]]; then
    clang++ "${flags[@]}" "$root/tests/fuzz/$harness.cpp" "$root/src/config.cpp" -lboost_program_options -o "$build/$harness"
  fi
done
corpus=$build/corpus
rm -rf "$corpus"
mkdir -p "$corpus/config" "$corpus/forced"
i=0
for f in "$root"/configs/*.ini; do i=$((i + 1)); { printf '\x02'; cat "$f"; } >"$corpus/config/ini$i"; done
printf '\x00network.grid=3x3\nrun.protocol=train:100\n' >"$corpus/config/kv"
printf '\x01--network.grid\x003x3\x00--seed\x007' >"$corpus/config/argv"
cp "$root"/tests/cli/data/*.csv "$root"/configs/toy/*.csv "$corpus/forced/"
status=0
for harness in fuzz_config fuzz_forced_spikes; do
  dir=$corpus/${harness#fuzz_}
  [[ $harness == fuzz_forced_spikes ]] && dir=$corpus/forced
  echo "fuzzing $harness for $seconds s"
  if ! "$build/$harness" "$dir" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
       -artifact_prefix="$build/$harness-" >"$build/$harness.log" 2>&1; then
    echo "FAIL $harness: see $build/$harness.log"; tail -30 "$build/$harness.log"; status=1
  else
    echo "ok   $harness: $(grep -o 'Done [0-9]* runs' "$build/$harness.log")"
  fi
done
exit $status
