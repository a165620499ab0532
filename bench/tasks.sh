#!/usr/bin/env bash
# The input tasks' cost (issue 11: the xor task must not slow a step more than the pattern
# task does; issue 19: the multi task no more than the xor task). Runs the same network
# (default 10x5 grid, 100 inputs, ${MS:-20000} ms of learning) with the pattern task, the xor
# task, the file task (a file replaying a 5 Hz Poisson stimulus, made here) and the multi task
# (2 groups at 10-80 Hz), 1 rank x 1 thread, and prints the real-time factor of each;
# then the input generator alone (bench_input): wall ns per generated step for each task.
# A benchmark: nothing fails on a slow machine.
# Usage: bench/tasks.sh        MS=100000 REPEATS=3 bench/tasks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --build --preset release --target seqlearn_mpi bench_input >/dev/null
source scripts/env.sh
binary=build/release/seqlearn_mpi
out=${OUT:-results/bench_tasks}
mkdir -p "$out"
ms=${MS:-20000}
repeats=${REPEATS:-3}
# A 5 Hz Poisson stimulus over 100 channels, 10 s, as CSV (replayed cyclically).
/usr/bin/python3 - "$out/stim.csv" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(1)
spikes = rng.random((10000, 100)) < 1 - np.exp(-5e-3)
steps, channels = np.nonzero(spikes)
with open(sys.argv[1], "w") as f:
    f.write("step,channel\n")
    f.writelines(f"{s},{c}\n" for s, c in zip(steps, channels))
PY
printf "| task | rtf (best of %s) | simulate_s | input spikes / step |\n|---|---|---|---|\n" "$repeats"
for task in pattern xor file multi; do
  best=""
  for ((r = 0; r < repeats; ++r)); do
    line=$(OMP_NUM_THREADS=1 mpirun -n 1 "$binary" --run.protocol "train:$ms:$task" \
             --input.file "$out/stim.csv" --record.dt_rec 0 --threads 1 \
             --output "$out/$task.h5" --overwrite 2>/dev/null | grep '^bench:')
    get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    rtf=$(get rtf)
    if [[ -z "$best" ]] || awk -v a="$rtf" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$rtf
      simulate=$(get simulate_s)
    fi
  done
  per_step=$(/usr/bin/python3 -c "import h5py; f = h5py.File('$out/$task.h5'); print(f'{f[\"input/spikes/step\"].shape[0] / f[\"input/pattern_id\"].shape[0]:.3f}')")
  printf "| %s | %s | %s | %s |\n" "$task" "$best" "$simulate" "$per_step"
done
echo
build/release/bench_input 100 "${STEPS:-2000000}" "$out/stim.csv"
