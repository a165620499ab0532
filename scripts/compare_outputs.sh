#!/usr/bin/env bash
# Compares two builds' outputs dataset by dataset (h5diff, /config and /run excepted): every
# config in configs/ and configs/paper/ with a shortened protocol (the config's own tasks),
# the file task, 1 rank, 2 ranks, 1 rank x 2 threads, and a checkpoint written on 2 ranks and
# restored on 1. For refactorings that must not change results (docs/extending.md).
#   scripts/compare_outputs.sh REFERENCE_BINARY NEW_BINARY [WORK_FOLDER]
# Exit 0: every dataset identical; 1: a difference (h5diff's report is printed); 2: bad usage.
set -u
if [[ $# -lt 2 || ! -x "$1" || ! -x "$2" ]]; then
  echo "usage: scripts/compare_outputs.sh REFERENCE_BINARY NEW_BINARY [WORK_FOLDER]" >&2
  exit 2
fi
reference=$(realpath "$1") new=$(realpath "$2")
root=$(cd "$(dirname "$0")/.." && pwd)
work=${3:-$(mktemp -d)}
mkdir -p "$work/reference" "$work/new"
work=$(realpath "$work")
# Configs name their files relative to the repository (configs/toy/...): the same from here.
ln -sfn "$root/configs" "$work/reference/configs"
ln -sfn "$root/configs" "$work/new/configs"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_WAIT_POLICY=passive
failures=0 runs=0

# run NAME NP THREADS ARGS...: both binaries, then h5diff of the outputs; the new binary gets
# the options in new_only=(...) too (settings that must not change results, e.g. run.exchange).
new_only=()
run() {
  local name=$1 np=$2 threads=$3
  shift 3
  local b out
  for b in reference new; do
    # The same relative name for both: output.file is part of what a checkpoint hashes.
    rm -f "$work/$b/$name.h5" "$work/$b/$name.ckpt.h5"
    local binary=$reference extra=()
    [[ $b == new ]] && binary=$new extra=("${new_only[@]}")
    (cd "$work/$b" && OMP_NUM_THREADS=$threads mpirun -n "$np" --bind-to none "$binary" \
      --run.threads "$threads" "$@" "${extra[@]}" --output.file "$name.h5" >"$name.log" 2>&1)
    local code=$?
    if [[ $b == reference && $code -eq 2 ]] && grep -q "error: invalid\|error: unknown" "$work/$b/$name.log"; then
      echo "skip $name: the reference binary does not know this config (exit 2)"
      return
    fi
    if [[ $code -ne 0 ]]; then
      echo "FAIL $name: the $b binary failed with exit $code (see $work/$b/$name.log)"
      failures=$((failures + 1))
      return
    fi
  done
  compare "$name" "$work/reference/$name.h5" "$work/new/$name.h5"
}

compare() {
  local name=$1
  runs=$((runs + 1))
  if h5diff -c --exclude-path /config --exclude-path /run "$2" "$3" >"$work/$name.diff" 2>&1; then
    echo "same $name"
  else
    echo "DIFFERENT $name:"
    head -20 "$work/$name.diff"
    failures=$((failures + 1))
  fi
}

short="test:500,train:3000,test:1000"
for config in "$root"/configs/*.ini "$root"/configs/paper/*.ini; do
  name=$(basename "$(dirname "$config")")_$(basename "$config" .ini)
  protocol=$short
  case $name in
    configs_toy_worked_example) protocol="train:6" ;;
    configs_full_scale | configs_large_fixed_indegree) protocol="train:300,test:200" ;;
    paper_xor) protocol="test:2000,test:1000" ;;
    paper_xor_pattern) protocol="test:300,test:500:xor,train:2000,test:500:xor" ;;
  esac
  run "$name.np1" 1 1 --config "$config" --run.protocol "$protocol"
done
common=(--network.grid 8x6 --record.neurons all --record.dt_rec 7)
run default.np2 2 1 "${common[@]}" --run.protocol "$short"
run default.threads2 1 2 "${common[@]}" --run.protocol "$short"
run pruned.np2 2 1 "${common[@]}" --network.p_conn 0.3 --network.train_fraction 0.5 \
  --run.protocol "$short"
# The directed exchange (docs/scaling.md) against the reference's default, on a local grid
# where ranks need few circuits, with a delay (several steps per exchange).
local_grid=(--network.grid 12x10 --network.connectivity fixed_indegree --network.lambda 0.6
  --network.wta_indegree 8 --network.delay 2 --record.neurons all --record.dt_rec 11)
new_only=(--run.exchange directed)
run directed.np3 3 1 "${local_grid[@]}" --run.protocol "$short"
run directed.default.np2 2 1 "${common[@]}" --run.protocol "$short"
new_only=(--run.exchange allgather)
run allgather.np4 4 1 "${local_grid[@]}" --run.protocol "$short"
new_only=()
run inverse_time.np1 1 1 --plasticity.schedule inverse_time --run.protocol "$short"
run constant.np2 2 1 --plasticity.schedule constant --plasticity.train_inputs false \
  --run.protocol "$short"
run tasks.np2 2 1 --network.n_inputs 40 --input.file "$root/tests/cli/data/input_ok.csv" \
  --run.protocol "train:400,test:600:xor,test:300:file,train:200:xor,test:300"
{
  echo "source,id,step"
  for step in $(seq 0 3 45); do
    echo "input,$((step % 100)),$step"
    echo "neuron,$((step * 7 % 300)),$((step + 1))"
  done
} >"$work/forced.csv"
run forced.np2 2 1 --validation.forced_spikes "$work/forced.csv" --run.protocol train:50

# A checkpoint written on 2 ranks, restored on 1 by each binary from the reference's file.
run ckpt.np2 2 1 "${common[@]}" --run.protocol train:2000 --output.checkpoint_every_ms 2000
if [[ -f "$work/reference/ckpt.np2.ckpt.h5" && -f "$work/new/ckpt.np2.ckpt.h5" ]]; then
  # The checkpoint: every dataset, and /checkpoint's attributes but the checksum over /config's
  # (a build with new keys writes them to /config, which changes that checksum alone).
  runs=$((runs + 1))
  if h5diff -c --exclude-path /config --exclude-attribute /checkpoint \
       "$work/reference/ckpt.np2.ckpt.h5" "$work/new/ckpt.np2.ckpt.h5" >"$work/checkpoint.diff" 2>&1 &&
     /usr/bin/python3 - "$work/reference/ckpt.np2.ckpt.h5" "$work/new/ckpt.np2.ckpt.h5" \
       >>"$work/checkpoint.diff" 2>&1 <<'PY'
import sys, h5py
a, b = (h5py.File(path, "r")["checkpoint"].attrs for path in sys.argv[1:])
keys = (set(a) | set(b)) - {"attributes_checksum"}
different = [k for k in sorted(keys) if k not in a or k not in b or str(a[k]) != str(b[k])]
print("different /checkpoint attributes:", different)
raise SystemExit(1 if different else 0)
PY
  then
    echo "same checkpoint"
  else
    echo "DIFFERENT checkpoint:"
    head -20 "$work/checkpoint.diff"
    failures=$((failures + 1))
  fi
  for b in reference new; do
    binary=$reference
    [[ $b == new ]] && binary=$new
    rm -f "$work/$b/restored.h5" "$work/$b/restored.ckpt.h5"  # a reused work folder
    (cd "$work/$b" && OMP_NUM_THREADS=1 mpirun -n 1 "$binary" --restore \
      "$work/reference/ckpt.np2.ckpt.h5" --run.protocol test:1000 --output.file restored.h5 \
      >restored.log 2>&1) ||
      echo "FAIL restored: the $b binary failed (see $work/$b/restored.log)"
  done
  compare restored "$work/reference/restored.h5" "$work/new/restored.h5"
fi
echo "$runs comparisons, $failures failed (work folder: $work)"
[[ $failures -eq 0 ]]
