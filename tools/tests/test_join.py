"""tools/seqlearn-join: a run cut into segments the way seqlearn writes them (docs/output.md,
docs/checkpoint.md) joins back into the uninterrupted run's datasets. Synthetic files, no
simulator (the real chain on SLURM: tests/slurm/slurm_jobs.sh)."""
import os
import subprocess

import h5py
import numpy as np
import pytest

TOOLS = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
PYTHON = "/usr/bin/python3"
N_NEURONS, N_INPUTS, DT_REC = 7, 5, 10
PROTOCOL = [(b"test", 300, 0), (b"train", 1000, 1), (b"test", 400, 0)]
TOTAL = sum(p[1] for p in PROTOCOL)


def spikes(rng, first, end):
    step = np.flatnonzero(rng.random((end - first) * N_NEURONS) < 0.02)
    neuron, step = step % N_NEURONS, first + step // N_NEURONS
    order = np.lexsort((step, neuron))  # by neuron, then step, as seqlearn writes them
    return step[order].astype(np.int64), neuron[order].astype(np.uint64)


def write(path, first, end, interrupted, phases, data):
    """The part [first, end) of the run in `data`, as seqlearn writes it."""
    with h5py.File(path, "w") as f:
        f.create_group("config").attrs["run.protocol"] = "test:300,train:1000,test:400"
        f["config"].create_group("units").attrs["run.protocol"] = "ms"
        net = f.create_group("network")
        for key, value in {"n_neurons": N_NEURONS, "n_inputs": N_INPUTS, "n_circuits": 1, "rows": 1, "cols": 1}.items():
            net.attrs[key] = value
        net["synapses/weight"] = np.full(3, float(end))  # the weights at the end of this part
        keep = (data["step"] >= first) & (data["step"] < end)
        order = np.lexsort((data["step"][keep], data["neuron"][keep]))
        f["spikes/step"] = data["step"][keep][order]
        f["spikes/neuron"] = data["neuron"][keep][order]
        keep = (data["in_step"] >= first) & (data["in_step"] < end)
        f["input/spikes/step"] = data["in_step"][keep]
        f["input/spikes/channel"] = data["in_channel"][keep]
        f["input/spikes/from_pattern"] = np.zeros(keep.sum(), np.uint8)
        for key in ("pattern_id", "sequence_id"):
            f["input/" + key] = data["pattern"][first:end]
            f["input/" + key].attrs["first_step"] = first
        f["phases/name"] = np.array([p[0] for p in phases], "S6")
        f["phases/first_step"] = np.array([p[1] for p in phases], np.int64)
        f["phases/steps"] = np.array([p[2] for p in phases], np.int64)
        f["phases/learning"] = np.array([p[3] for p in phases], np.uint8)
        rows = np.flatnonzero((data["t_step"] >= first) & (data["t_step"] < end))
        f["traces/step"] = data["t_step"][rows]
        f["traces/u"] = data["u"][rows]
        f["traces/neuron"] = np.array([1, 4], np.uint64)
        f["traces/weight_pre"] = np.array([0, 1], np.uint64)
        f["traces/weight_post"] = np.array([1, 1], np.uint64)
        f["traces"].attrs["dt_rec_steps"] = DT_REC
        run = f.create_group("run")
        for key, value in {"first_step": first, "last_step": end, "interrupted": interrupted,
                           "simulated_s": (end - first) / 1000, "simulate_s": 0.5, "network_spikes": 1.0}.items():
            run.attrs[key] = float(value)
        run.create_group("units").attrs["simulated_s"] = "s"
        f["spikes/step"].attrs["units"] = "steps"


def phases_from(first):
    """/phases of a part starting at `first`: the whole protocol for the first part, else what
    was left of it, the cut phase starting at `first` (a restored run's file)."""
    out, at = [], 0
    for name, steps, learning in PROTOCOL:
        if at + steps > first:
            start = max(at, first)
            out.append((name, start, at + steps - start, learning))
        at += steps
    return out


@pytest.fixture
def chain(tmp_path):
    rng = np.random.default_rng(3)
    step, neuron = spikes(rng, 0, TOTAL)
    in_all = np.flatnonzero(rng.random(TOTAL * N_INPUTS) < 0.01)
    t_step = np.arange(0, TOTAL, DT_REC, dtype=np.int64)
    data = {"step": step, "neuron": neuron, "in_step": (in_all // N_INPUTS).astype(np.int64),
            "in_channel": (in_all % N_INPUTS).astype(np.uint32),
            "pattern": np.where(np.arange(TOTAL) % 200 < 50, 0, -1).astype(np.int32),
            "t_step": t_step, "u": rng.random((len(t_step), 2))}
    cuts = [0, 555, 1234, TOTAL]  # stops inside the train phase (twice): a cut phase continues
    write(tmp_path / "full.h5", 0, TOTAL, 0, phases_from(0), data)
    folder = tmp_path / "chain"
    folder.mkdir()
    for k in range(3):
        write(folder / f"segment-{k + 1:03d}.h5", cuts[k], cuts[k + 1], int(k < 2), phases_from(cuts[k]), data)
    return tmp_path


def join(*args):
    return subprocess.run([PYTHON, os.path.join(TOOLS, "seqlearn-join"), *map(str, args)],
                          capture_output=True, text=True)


def test_joined_chain_equals_the_uninterrupted_run(chain):
    proc = join(chain / "chain")
    assert proc.returncode == 0, proc.stderr
    with h5py.File(chain / "full.h5") as full, h5py.File(chain / "chain" / "run.h5") as joined:
        for path in ("spikes/step", "spikes/neuron", "input/spikes/step", "input/spikes/channel",
                     "input/pattern_id", "input/sequence_id", "phases/name", "phases/first_step",
                     "phases/steps", "phases/learning", "traces/step", "traces/u", "traces/neuron"):
            assert np.array_equal(full[path][:], joined[path][:]), path
            assert full[path].dtype == joined[path].dtype, path
        assert joined["input/pattern_id"].attrs["first_step"] == 0
        # units travel too (hostile test: they were lost)
        assert joined["config/units"].attrs["run.protocol"] == "ms"
        assert joined["run/units"].attrs["simulated_s"] == "s"
        assert joined["spikes/step"].attrs["units"] == "steps"
        assert joined["network/synapses/weight"][0] == TOTAL  # the last segment's network
        run = joined["run"].attrs
        assert (run["first_step"], run["last_step"], run["interrupted"], run["segments"]) == (0, TOTAL, 0, 3)
        assert run["simulated_s"] == pytest.approx(TOTAL / 1000)
        assert run["network_spikes"] == 3
        assert run["joined_from"].split("\n") == ["segment-001.h5", "segment-002.h5", "segment-003.h5"]


def test_segments_out_of_order_or_missing_are_refused(chain):
    folder = chain / "chain"
    proc = join("--out", chain / "bad.h5", folder / "segment-001.h5", folder / "segment-003.h5")
    assert proc.returncode == 2 and "not consecutive" in proc.stderr
    proc = join("--out", chain / "bad.h5", folder / "segment-003.h5", folder / "segment-001.h5")
    assert proc.returncode == 2
    assert not (chain / "bad.h5").exists()
    assert join(folder).returncode == 0
    assert join(folder).returncode == 2  # exists: --overwrite replaces it
    assert join(folder, "--overwrite").returncode == 0


def test_a_file_that_is_not_hdf5_is_refused_cleanly(chain, tmp_path):
    """Hostile test: an empty file among the segments gave a traceback."""
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    proc = join("--out", tmp_path / "j.h5", empty, chain / "chain" / "segment-001.h5")
    assert proc.returncode == 2 and "not a readable HDF5 file" in proc.stderr
    assert "Traceback" not in proc.stderr


def upgrade(path):
    """A segment as the version of issue 11 writes it: /input/pattern_id [T, 2] (column 1 -1
    for the pattern task) and /phases/task."""
    with h5py.File(path, "r+") as f:
        old = f["input/pattern_id"]
        labels, first = old[:], old.attrs["first_step"]
        del f["input/pattern_id"]
        f["input/pattern_id"] = np.stack([labels, np.full_like(labels, -1)], axis=1)
        f["input/pattern_id"].attrs["first_step"] = first
        n = f["phases/name"].shape[0]
        f["phases/task"] = np.array([b"pattern"] * n, dtype=h5py.string_dtype("utf-8", 8))


def test_a_chain_across_the_two_stream_labels_joins(chain):
    """Hostile test: a chain restored by a newer seqlearn (segment 1: pattern_id [T], no
    /phases/task; segments 2, 3: [T, 2] and task) was refused ("input/pattern_id has shape
    (..., 2) in ..., (...,) in the first segment"). The old labels widen to column 0, column 1 = -1."""
    folder = chain / "chain"
    for k in (2, 3):
        upgrade(folder / f"segment-{k:03d}.h5")
    proc = join(folder)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(chain / "full.h5") as full, h5py.File(folder / "run.h5") as joined:
        labels = joined["input/pattern_id"]
        assert labels.shape == (TOTAL, 2) and labels.attrs["first_step"] == 0
        assert np.array_equal(labels[:, 0], full["input/pattern_id"][:])
        assert np.all(labels[:, 1] == -1)
        assert np.array_equal(joined["input/sequence_id"][:], full["input/sequence_id"][:])
        assert [t.decode() if isinstance(t, bytes) else t for t in joined["phases/task"][:]] == ["pattern"] * 3
        assert list(joined["phases/steps"][:]) == [p[1] for p in PROTOCOL]  # the cut train phase is one again
    # the other way round (a newer first segment, an older later one) widens alike
    upgrade(folder / "segment-001.h5")
    with h5py.File(folder / "segment-003.h5", "r+") as f:
        labels, first = f["input/pattern_id"][:, 0], f["input/pattern_id"].attrs["first_step"]
        del f["input/pattern_id"], f["phases/task"]
        f["input/pattern_id"] = labels
        f["input/pattern_id"].attrs["first_step"] = first
    assert join(folder, "--overwrite").returncode == 0
    with h5py.File(chain / "full.h5") as full, h5py.File(folder / "run.h5") as joined:
        assert np.array_equal(joined["input/pattern_id"][:, 0], full["input/pattern_id"][:])
        assert np.all(joined["input/pattern_id"][:, 1] == -1)
