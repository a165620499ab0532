#!/usr/bin/env bash
# docs/extending.md's worked examples through the engine (CTest label `extending`): the program
# built with tests/extending/plugins.cpp accepts their names, its results are identical on 1 and
# 2 ranks, the rule acts, the task's input follows its wave, the quantities are written, and a
# checkpoint written on 2 ranks and restored on 1 continues the run bit-identically.
#   tests/extending/extending.sh SEQLEARN_EXTENDED [SEQLEARN_MPI (the program without them)]
source "$(dirname "$0")/../cli/lib.sh"
cli_begin extending.sh "${1:-}"
plain=${2:+$(realpath "$2")}

network=(--network.grid 4x3 --record.neurons all --record.dt_rec 5)
args=("${network[@]}" --plasticity.schedule inverse_sqrt_time)
check "the rule, the task and its keys, and the quantities are listed in --help" \
  bash -c "'$binary' --help | grep -q 'inverse_sqrt_time' && '$binary' --help | grep -q 'input_drive' \
    && '$binary' --help | grep -q '  efficacy: e^{w_kj}' && '$binary' --help | grep -q '  u_at_spike: ' \
    && '$binary' --help | grep -q '  wave: Poisson' && '$binary' --help | grep -q 'input.wave_period' \
    && '$binary' --help | grep -q '  active_channels: input channels'"
check "1 rank" mpirun -n 1 "$binary" "${args[@]}" --run.protocol train:1000,test:500 --output np1.h5
check "2 ranks" mpirun -n 2 --oversubscribe "$binary" "${args[@]}" --run.protocol train:1000,test:500 \
  --output np2.h5
check "1 and 2 ranks: every dataset identical" \
  h5diff -c --exclude-path /config --exclude-path /run np1.h5 np2.h5
check "the same network under the constant rule" mpirun -n 1 "$binary" "${network[@]}" \
  --plasticity.schedule constant --run.protocol train:1000,test:500 --output constant.h5
check "the rule acts; /traces/input_drive is u less its bias; /traces/efficacy is e^weight" \
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
efficacy, weight = run["traces/efficacy"][:], run["traces/weight"][:]
assert efficacy.shape == weight.shape and weight.shape[0] == 300
assert weight.shape[1] == run["traces/weight_pre"].shape[0] > 0
assert np.allclose(efficacy, np.exp(weight), rtol=1e-15, atol=0)
assert np.abs(weight[-1] - weight[0]).max() > 0, "the weights learn"
# the spike quantity: u at each spike, which the traces show where a spike falls on a sample
at_spike, spike_step, spike_neuron = run["spikes/u_at_spike"][:], run["spikes/step"][:], run["spikes/neuron"][:]
assert at_spike.shape == spike_step.shape and run["spikes/u_at_spike"].attrs["units"] in (b"1", "1")
row = {int(s): i for i, s in enumerate(run["traces/step"][:])}
column = {int(k): i for i, k in enumerate(run["traces/neuron"][:])}
sampled = [(i, row[int(s)]) for i, s in enumerate(spike_step) if int(s) in row]
assert len(sampled) > 10, len(sampled)
for i, r in sampled:
    assert at_spike[i] == u[r, column[int(spike_neuron[i])]], (i, r)
# the input label: the input spikes per step, one row per step like the built-in labels
active, input_step = run["input/active_channels"][:], run["input/spikes/step"][:]
assert active.dtype == np.int32 and active.shape == (1500,) == run["input/sequence_id"].shape
assert run["input/active_channels"].attrs["first_step"] == 0
assert np.array_equal(active, np.bincount(input_step, minlength=1500)) and active.sum() > 0
PY
# record.quantities takes the plug-ins' names too: only those are written, with the same values.
check "record.quantities: the plug-ins' quantities alone, 2 ranks" mpirun -n 2 --oversubscribe \
  "$binary" "${args[@]}" --run.protocol train:1000,test:500 \
  --record.quantities u_at_spike,efficacy,input_drive --output chosen.h5
check "record.quantities: only the named ones, each as in the run that records all" \
  /usr/bin/python3 - np1.h5 chosen.h5 <<'PY'
import sys, h5py, numpy as np
every, chosen = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert sorted(chosen["traces"]) == ["efficacy", "input_drive", "neuron", "step", "weight_post", "weight_pre"], list(chosen["traces"])
assert sorted(chosen["spikes"]) == ["neuron", "step", "u_at_spike"], list(chosen["spikes"])
for name in ("traces/efficacy", "traces/input_drive", "traces/weight_pre", "spikes/u_at_spike", "spikes/step"):
    assert every[name][:].tobytes() == chosen[name][:].tobytes(), name
PY
check "record.quantities: a name no registry has is refused, naming the key and the plug-ins" \
  bash -c "! mpirun -n 1 '$binary' --record.quantities u,efficacies --output refused.h5 >refused.log 2>&1 \
    && grep -q \"^seqlearn_extended: error: .*record.quantities: no recorded quantity 'efficacies'.*synapse quantities weight, efficacy; spike quantities u_at_spike\" refused.log \
    && ! grep -q seqlearn_mpi refused.log \
    && [[ ! -e refused.h5 ]]"
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
assert whole["spikes/u_at_spike"][:][keep].tobytes() == rest["spikes/u_at_spike"][:].tobytes()
for name in ("weight", "variance_tracking_mean"):
    a, b = whole["network/synapses/" + name][:], rest["network/synapses/" + name][:]
    assert a.tobytes() == b.tobytes(), name
later = whole["traces/step"][:] >= 1000
for name in ("u", "input_drive", "weight", "efficacy"):
    assert whole["traces/" + name][:][later].tobytes() == rest["traces/" + name][:].tobytes(), name
PY
# The input task: wave phases between pattern phases, on 1 and 2 ranks.
wave=("${network[@]}" --input.wave_period 100 --input.wave_rate 30)
check "wave task: 1 rank" mpirun -n 1 "$binary" "${wave[@]}" \
  --run.protocol train:500,train:1000:wave,test:500:wave --output wave1.h5
check "wave task: 2 ranks" mpirun -n 2 --oversubscribe "$binary" "${wave[@]}" \
  --run.protocol train:500,train:1000:wave,test:500:wave --output wave2.h5
check "wave task: 1 and 2 ranks, every dataset identical" \
  h5diff -c --exclude-path /config --exclude-path /run wave1.h5 wave2.h5
check "wave task: the phases name it, its labels are the quarters, its rate follows the wave, its targets are recorded" \
  /usr/bin/python3 - wave1.h5 <<'PY'
import sys, h5py, numpy as np
run = h5py.File(sys.argv[1], "r")
assert [t.decode() if isinstance(t, bytes) else t for t in run["phases/task"][:]] == ["pattern", "wave", "wave"]
labels = run["input/pattern_id"][:, 0]
steps = np.arange(500, 2000)
assert np.array_equal(labels[500:2000], ((steps - np.where(steps < 1500, 500, 1500)) % 100) // 25)
step, channel = run["input/spikes/step"][:], run["input/spikes/channel"][:]
wave = step >= 500
position = (step[wave] - np.where(step[wave] < 1500, 500, 1500)) % 100
rising, silent = np.sum((position >= 15) & (position < 35)), np.sum((position >= 65) & (position < 85))
assert rising > 4 * silent, (rising, silent)
# its targets: the rate at the first step of each quarter of the wave phases
target_step, target = run["input/wave_rate/step"][:], run["input/wave_rate/value"][:]
steps = np.arange(500, 2000)
quarter_starts = steps[(steps - np.where(steps < 1500, 500, 1500)) % 25 == 0]
assert np.array_equal(target_step, quarter_starts), target_step
assert target.shape == (60, 1) and run["input/wave_rate/value"].attrs["units"] in (b"Hz", "Hz")
position = (target_step - np.where(target_step < 1500, 500, 1500)) % 100
assert np.allclose(target[:, 0], 30 * (1 + np.sin(2 * np.pi * position / 100)), rtol=1e-12, atol=1e-9)
PY
check "wave task: first part on 2 ranks, checkpointed" mpirun -n 2 --oversubscribe "$binary" \
  "${wave[@]}" --run.protocol train:500,train:1000:wave --output.checkpoint_every_ms 1500 \
  --output wave_first.h5
check "wave task: its position is in the checkpoint" /usr/bin/python3 -c "
import h5py
attributes = h5py.File('wave_first.ckpt.h5', 'r')['checkpoint'].attrs
assert attributes['generator_wave_position'] == 1000 and attributes['generator_task'] == 4"
if [[ -n "$plain" ]]; then
  # hostile test: a checkpoint of this program, restored by the plain one, was said to come from
  # "another version of seqlearn_mpi"; the plug-ins' keys are why
  check "the program without the plug-ins refuses their checkpoint, naming them" bash -c "
    mpirun -n 1 '$plain' --restore first.ckpt.h5 --run.protocol test:100 --output plain_keys.h5 >plain_keys.log 2>&1
    code=\$?; [[ \$code -eq 2 ]] && grep -q \"unknown to seqlearn_mpi: it was written by another version, or by a program built with other plug-ins\" plain_keys.log \
      && [[ ! -e plain_keys.h5 ]]"
  # hostile test: the plain program called a wave phase's checkpoint corrupt
  check "wave task: the program without the task refuses its checkpoint, naming why" bash -c "
    mpirun -n 1 '$plain' --restore wave_first.ckpt.h5 --output plain.h5 >plain.log 2>&1
    code=\$?; [[ \$code -eq 2 ]] && grep -q 'input task number 4, which this program does not register' plain.log \
      && ! grep -q corrupt plain.log && [[ ! -e plain.h5 ]]"
fi
# SIGTERM to the ranks: the resume line names this program, the one that has the task.
mpirun -n 1 "$binary" --network.grid 4x3 --record.dt_rec 0 --run.protocol train:600000:wave \
  --output cut.h5 >cut.log 2>&1 &
job=$!
sleep 2.0
pkill -TERM -f "^$binary .*--output cut.h5"
wait $job
check "a stopped run says to resume with this program, and its messages name it" \
  bash -c "grep -q 'Resume with: mpirun -n 1 ${binary##*/} --restore cut.ckpt.h5' cut.log \
    && grep -q '^${binary##*/}: stop requested' cut.log && grep -q '^${binary##*/}: stopped on request' cut.log \
    && ! grep -q seqlearn_mpi cut.log"
check "--version and --help name this program" \
  bash -c "'$binary' --version | grep -q '^${binary##*/} ' && '$binary' --help | grep -q '^Usage: ${binary##*/} '"
check "wave task: restored on 1 rank" mpirun -n 1 "$binary" --restore wave_first.ckpt.h5 \
  --run.protocol test:500:wave --output wave_rest.h5
check "wave task: the restored run continues the whole one bit-identically" \
  /usr/bin/python3 - wave1.h5 wave_rest.h5 <<'PY'
import sys, h5py, numpy as np
whole, rest = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for group in ("spikes", "input/spikes"):
    keep = whole[group + "/step"][:] >= 1500
    assert keep.sum() > 0, group
    for name in whole[group]:
        assert np.array_equal(whole[group + "/" + name][:][keep], rest[group + "/" + name][:]), name
assert np.array_equal(whole["input/pattern_id"][1500:], rest["input/pattern_id"][:])
assert np.array_equal(whole["input/active_channels"][1500:], rest["input/active_channels"][:])
assert rest["input/active_channels"].attrs["first_step"] == 1500
keep = whole["input/wave_rate/step"][:] >= 1500
assert np.array_equal(whole["input/wave_rate/step"][:][keep], rest["input/wave_rate/step"][:])
assert whole["input/wave_rate/value"][:][keep].tobytes() == rest["input/wave_rate/value"][:].tobytes()
PY
cli_end extending.sh
