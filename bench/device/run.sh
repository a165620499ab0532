#!/usr/bin/env bash
# On the 16-core machine (after bench/device/prepare.sh here): strong (256x256) and weak
# (64x64 per rank) scaling at 1, 2, 4, 8, 16 ranks (RANKS) x 1 thread (THREADS; ranks x threads
# beyond the cores run oversubscribed, scripts/launch.sh), identity of the strong points checked
# with the carried h5diff; tables printed with awk, timing records packed into $OUT.
set -euo pipefail
export PATH=$PWD/.device/bin:$PATH
export SEQLEARN_BIN=$PWD/.device/bin/seqlearn_mpi
export RANKS=${RANKS:-"1 2 4 8 16"} THREADS=${THREADS:-1} MS=${MS:-1000}
export SEQLEARN_RESULTS_SCALING=${OUT:-/tmp}/scaling
bash bench/scaling.sh
for kind in strong weak; do
  echo "## $kind"
  for f in $(ls "$SEQLEARN_RESULTS_SCALING/$kind"/np*/timing.json | sort -V); do
    tr -d '{}"' <"$f" | tr ',' '\n' | sed 's/^ *//' | awk -F': ' '{ v[$1] = $2 }
      END { print "ranks", v["ranks"], "threads", v["threads"], "rtf", v["rtf"],
                  "simulate_s", v["simulate_s"], "compute_s", v["compute_s"],
                  "exchange_s", v["exchange_s"], "build_s", v["build_s"],
                  "bytes/synapse", v["bytes_per_synapse"] }'
  done
done
cd "$SEQLEARN_RESULTS_SCALING" && tar czf ../scaling.tar.gz --exclude='*.h5' . && rm -rf "$SEQLEARN_RESULTS_SCALING"
