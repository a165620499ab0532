#!/usr/bin/env bash
# docs/extending.md's worked examples through the engine (CTest label `extending`): the program
# built with tests/extending/plugins.cpp accepts their names, its results are identical on 1 and
# 2 ranks, the rule acts, the quantity is written, and a checkpoint written on 2 ranks and
# restored on 1 continues the run bit-identically.
#   tests/extending/extending.sh SEQLEARN_EXTENDED
source "$(dirname "$0")/../cli/lib.sh"
cli_begin extending.sh "${1:-}"

network=(--network.grid 4x3 --record.neurons all --record.dt_rec 5)
args=("${network[@]}" --plasticity.schedule inverse_sqrt_time)
check "the rule and the quantity are listed in --help" \
  bash -c "'$binary' --help | grep -q 'inverse_sqrt_time' && '$binary' --help | grep -q 'input_drive'"
check "1 rank" mpirun -n 1 "$binary" "${args[@]}" --run.protocol train:1000,test:500 --output np1.h5
check "2 ranks" mpirun -n 2 --oversubscribe "$binary" "${args[@]}" --run.protocol train:1000,test:500 \
  --output np2.h5
check "1 and 2 ranks: every dataset identical" \
  h5diff -c --exclude-path /config --exclude-path /run np1.h5 np2.h5
check "the same network under the constant rule" mpirun -n 1 "$binary" "${network[@]}" \
  --plasticity.schedule constant --run.protocol train:1000,test:500 --output constant.h5
check "the rule acts: other weights than constant's; /traces/input_drive is u less its bias" \
  /usr/bin/python3 - np1.h5 constant.h5 <<'PY'
import sys, h5py, numpy as np
run, constant = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
w, w_constant = run["network/synapses/weight"][:], constant["network/synapses/weight"][:]
assert w.shape == w_constant.shape and not np.array_equal(w, w_constant)
drive, u = run["traces/input_drive"][:], run["traces/u"][:]
assert drive.shape == u.shape and drive.shape[0] == 300 and drive.shape[1] == run["traces/neuron"].shape[0]
assert np.array_equal(drive, u), "the bias is 0 (priors off): u = input_drive exactly"
assert np.abs(drive).max() > 0
assert run["traces/input_drive"].attrs["units"] in (b"1", "1")
PY
check "first part on 2 ranks, checkpointed" mpirun -n 2 --oversubscribe "$binary" "${args[@]}" \
  --run.protocol train:1000 --output.checkpoint_every_ms 1000 --output first.h5
check "restored on 1 rank" mpirun -n 1 "$binary" --restore first.ckpt.h5 --run.protocol test:500 \
  --output rest.h5
check "the restored run continues the whole one bit-identically" \
  /usr/bin/python3 - np1.h5 rest.h5 <<'PY'
import sys, h5py, numpy as np
whole, rest = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
keep = whole["spikes/step"][:] >= 1000
assert keep.sum() > 0
for name in ("step", "neuron"):
    assert np.array_equal(whole["spikes/" + name][:][keep], rest["spikes/" + name][:]), name
for name in ("weight", "variance_tracking_mean"):
    a, b = whole["network/synapses/" + name][:], rest["network/synapses/" + name][:]
    assert a.tobytes() == b.tobytes(), name
later = whole["traces/step"][:] >= 1000
for name in ("u", "input_drive"):
    assert whole["traces/" + name][:][later].tobytes() == rest["traces/" + name][:].tobytes(), name
PY
cli_end extending.sh
