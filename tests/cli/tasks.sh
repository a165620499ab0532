#!/usr/bin/env bash
# The input tasks end to end (docs/model.md 11.2, docs/output.md): a run that alternates the
# pattern, xor and file tasks gives bit-identical datasets on 1 rank, 2 ranks and 1 rank x 2
# threads (compared with h5py, dataset by dataset; attributes that name the decomposition
# aside); /phases/task names each phase's task; /input/pattern_id is [T, 2] with the xor
# halves' ids in lockstep windows and the file's labels in column 0; an HDF5 input.file gives
# the same run as its CSV twin; bad input files and task names exit 2 naming the key.
# Usage: tasks.sh SEQLEARN_MPI
set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cli_begin tasks.sh "${1:-}"

# A file of 250 steps: channel (step * 7) % 40 every third step, labels 0..4 in runs of 50.
/usr/bin/python3 - <<'PY'
import h5py, numpy as np
steps = np.arange(0, 250, 3)
channels = (steps * 7) % 40
labels = np.repeat(np.arange(5, dtype=np.int32), 50)
with open("stim.csv", "w") as f:
    f.write("step,channel\n" + "".join(f"{s},{c}\n" for s, c in zip(steps, channels)))
with open("labels.csv", "w") as f:
    f.write("step,label\n" + "".join(f"{s},{l}\n" for s, l in enumerate(labels)))
with h5py.File("stim.h5", "w") as f:
    f["spikes/step"] = steps.astype(np.int64)
    f["spikes/channel"] = channels.astype(np.uint32)
    f["labels"] = labels
    f.attrs["n_steps"] = 250
    f.attrs["dt"] = 1.0
PY
protocol="train:400,test:600:xor,(test:300:file,train:200:xor)*2,test:300"
args=(--network.grid 4x4 --network.n_inputs 40 --run.protocol "$protocol" --input.p_switch 0.4
      --record.dt_rec 20)
csv=(--input.file stim.csv --input.label_file labels.csv)
mpirun -n 1 "$binary" "${args[@]}" "${csv[@]}" --threads 1 --output one.h5 >one.out 2>&1
check "1 rank: runs" test $? -eq 0
mpirun -n 2 "$binary" "${args[@]}" "${csv[@]}" --threads 1 --output two.h5 >two.out 2>&1
check "2 ranks: runs" test $? -eq 0
mpirun -n 1 --bind-to none "$binary" "${args[@]}" "${csv[@]}" --threads 2 --output threads.h5 >threads.out 2>&1
check "1 rank x 2 threads: runs" test $? -eq 0
mpirun -n 1 "$binary" "${args[@]}" --input.file stim.h5 --threads 1 --output h5.h5 >h5.out 2>&1
check "HDF5 input.file: runs" test $? -eq 0

# Every dataset (and every attribute but those naming the decomposition, the timings and the
# file names) bit-identical.
cat >same.py <<'PY'
import sys, h5py, numpy as np
skip_attrs = {"n_ranks", "threads_per_rank", "run.threads", "output.file", "input.file", "input.label_file"}
def items(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj))
    return out
a, b = h5py.File(sys.argv[1]), h5py.File(sys.argv[2])
ia, ib = items(a), items(b)
bad = []
names = sorted(n for n in ia if not n.startswith("run"))
if names != sorted(n for n in ib if not n.startswith("run")):
    bad.append("different objects")
for name in names:
    x, y = ia[name], ib[name]
    if isinstance(x, h5py.Dataset):
        if x.shape != y.shape or x.dtype != y.dtype or x[()].tobytes() != y[()].tobytes():
            bad.append(name)
    for key in x.attrs:
        if key in skip_attrs:
            continue
        if key not in y.attrs or np.asarray(x.attrs[key]).tobytes() != np.asarray(y.attrs[key]).tobytes():
            bad.append(f"{name}:{key}")
print(" ".join(bad) if bad else "identical")
sys.exit(1 if bad else 0)
PY
check "2 ranks: every dataset identical to 1 rank" /usr/bin/python3 same.py one.h5 two.h5
check "2 threads: every dataset identical to 1 rank" /usr/bin/python3 same.py one.h5 threads.h5
check "HDF5 input.file: the same run as CSV" /usr/bin/python3 same.py one.h5 h5.h5

cat >content.py <<'PY'
import h5py, numpy as np
f = h5py.File("one.h5")
tasks = [t.decode() for t in f["phases/task"][:]]
assert tasks == ["pattern", "xor", "file", "xor", "file", "xor", "pattern"], tasks
pid = f["input/pattern_id"][:]
assert pid.shape == (2300, 2) and pid.dtype == np.int32, (pid.shape, pid.dtype)
seq = f["input/sequence_id"][:]
first = f["phases/first_step"][:]
steps = f["phases/steps"][:]
labels = np.repeat(np.arange(5), 50)
for task, a, n in zip(tasks, first, steps):
    block = pid[a:a + n]
    if task == "xor":
        assert set(np.unique(block)) <= {0, 1}, task
        w = block.reshape(-1, 50, 2)  # 50 ms windows from the phase start
        assert (w == w[:, :1, :]).all(), "labels change inside a window"
        assert (seq[a:a + n] == -1).all()
    elif task == "file":
        assert (block[:, 0] == labels[np.arange(n) % 250]).all(), "file labels"
        assert (block[:, 1] == -1).all()
    else:
        assert (block[:, 1] == -1).all()
# the file's spikes, replayed from each file phase's first step, cyclically
st, ch = f["input/spikes/step"][:], f["input/spikes/channel"][:]
for task, a, n in zip(tasks, first, steps):
    if task != "file":
        continue
    m = (st >= a) & (st < a + n)
    rel = st[m] - a
    want = np.arange(0, n)
    want = want[(want % 250) % 3 == 0]
    assert (rel == want).all() and (ch[m] == ((want % 250) * 7) % 40).all(), "file replay"
print("ok")
PY
check "/phases/task, /input/pattern_id [T, 2], xor windows, file labels and replay" \
  /usr/bin/python3 content.py

# test.file (issue 17): test phases replay their own file and labels (held-out data), train
# phases input.file; the same on 2 ranks; a restore inside a test.file phase continues it.
/usr/bin/python3 - <<'PY'
import numpy as np
steps = np.arange(1, 170, 4)
with open("held_out.csv", "w") as f:
    f.write("step,channel\n" + "".join(f"{s},{(s * 3) % 40}\n" for s in steps))
with open("held_out_labels.csv", "w") as f:
    f.write("step,label\n" + "".join(f"{s},{7 + s // 60}\n" for s in range(170)))
PY
held=(--network.grid 3x3 --network.n_inputs 40
      --input.file stim.csv --input.label_file labels.csv --test.file held_out.csv
      --test.label_file held_out_labels.csv --record.dt_rec 20 --threads 1)
held_protocol=(--run.protocol "train:300:file,test:340:file,train:100:file")
mpirun -n 1 "$binary" "${held[@]}" "${held_protocol[@]}" --output held1.h5 >held1.out 2>&1
check "test.file: runs" test $? -eq 0
mpirun -n 2 "$binary" "${held[@]}" "${held_protocol[@]}" --output held2.h5 >held2.out 2>&1
check "test.file on 2 ranks: runs" test $? -eq 0
check "test.file: 2 ranks identical to 1" /usr/bin/python3 same.py held1.h5 held2.h5
cat >held.py <<'PY'
import h5py, numpy as np
f = h5py.File("held1.h5", "r")
st, ch = f["input/spikes/step"][:], f["input/spikes/channel"][:]
label = f["input/pattern_id"][:, 0]
def replay(first, n, length, spike_steps, channel_of):
    m = (st >= first) & (st < first + n)
    rel = (st[m] - first) % length
    assert np.isin(rel, spike_steps).all() and (ch[m] == channel_of(rel)).all(), (first, n)
train = np.arange(0, 250, 3)
replay(0, 300, 250, train, lambda r: (r * 7) % 40)
replay(640, 100, 250, train, lambda r: (r * 7) % 40)
held = np.arange(1, 170, 4)
replay(300, 340, 170, held, lambda r: (r * 3) % 40)
test_labels = label[300:640]
want = 7 + (np.arange(340) % 170) // 60
assert (test_labels == want).all(), "test.label_file labels"
assert (label[:250] == np.repeat(np.arange(5), 50)).all(), "train labels"
print("ok")
PY
check "test.file: train phases replay input.file, test phases test.file with its labels" \
  /usr/bin/python3 held.py
mpirun -n 2 "$binary" "${held[@]}" --run.protocol train:300:file,test:170:file \
  --output.checkpoint_every_ms 470 --output cut.h5 >cut.out 2>&1
mpirun -n 1 "$binary" --restore cut.ckpt.h5 --run.protocol test:170:file,train:100:file --threads 1 \
  --output rest.h5 >rest.out 2>&1
check "test.file: restores and continues" test $? -eq 0
/usr/bin/python3 - <<'PY' >restore_check.out 2>&1
import h5py, numpy as np
a, b = h5py.File("held1.h5", "r"), h5py.File("rest.h5", "r")
sa = a["input/spikes/step"][:]
m = (sa >= 470) & (sa < 640)
sb = b["input/spikes/step"][:]
mb = (sb >= 470) & (sb < 640)
# The restored test phase is a new phase: it starts test.file from its step 0 again.
assert ((sb[mb] - 470) == (sa[(sa >= 300) & (sa < 470)] - 300)).all()
print("ok")
PY
check "test.file: a restored run's test phase replays test.file" grep -q ok restore_check.out

# Bad inputs: exit 2, one message naming the key.
bad() {  # DESCRIPTION KEY ARGS...
  local what=$1 key=$2
  shift 2
  mpirun -n 2 "$binary" --network.grid 2x2 --network.n_inputs 40 --output bad.h5 "$@" >bad.out 2>&1
  local rc=$?
  check "$what: exit 2" test $rc -eq 2
  check "$what: names $key" grep -q -- "$key" bad.out
  check "$what: no output" test ! -e bad.h5
}
printf 'step,channel\n1,2\n5,40\n' >wide.csv
printf 'step,channel\n1,2\n-5,3\n' >negative.csv
printf 'step,channel\n1,2\n3 4\n' >malformed.csv
bad "channel >= n_inputs" input.file --run.protocol train:100:file --input.file wide.csv
bad "negative step" input.file --run.protocol train:100:file --input.file negative.csv
bad "malformed CSV" input.file --run.protocol train:100:file --input.file malformed.csv
bad "missing file" input.file --run.protocol train:100:file --input.file nowhere.csv
bad "file task without input.file" input.file --input.task file --run.protocol train:100
bad "label file with an HDF5 file" input.label_file --run.protocol train:100:file \
  --input.file stim.h5 --input.label_file labels.csv
bad "test.label_file without test.file" test.label_file --run.protocol test:100:file \
  --input.file stim.csv --test.label_file labels.csv
bad "missing test.file" test.file --run.protocol test:100:file --test.file nowhere.csv
bad "unknown task" run.protocol --run.protocol "train:100,test:100:speech"
bad "unknown input.task" input.task --input.task speech --run.protocol train:100
bad "repeat group without a count" run.protocol --run.protocol "(train:100,test:100)"
cli_end tasks.sh
