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


def write(path, first, end, interrupted, phases, data, seed="1", pre=(0, 1, 2), targets=True):
    """The part [first, end) of the run in `data`, as seqlearn writes it."""
    with h5py.File(path, "w") as f:
        f.create_group("config").attrs["run.protocol"] = "test:300,train:1000,test:400"
        f["config"].attrs["run.seed"] = seed
        f["config"].attrs["plasticity.learning_rate"] = "0.05"
        f["config"].create_group("units").attrs["run.protocol"] = "ms"
        net = f.create_group("network")
        for key, value in {"n_neurons": N_NEURONS, "n_inputs": N_INPUTS, "n_circuits": 1, "rows": 1, "cols": 1}.items():
            net.attrs[key] = value
        net["circuit_of"] = np.zeros(N_NEURONS, np.uint32)  # the fixed structure (fingerprint)
        net["circuit_size"] = np.array([N_NEURONS], np.int32)
        net["synapses/pre"] = np.array(pre, np.uint64)
        net["synapses/post"] = np.array([5, 6, 6], np.uint64)
        net["synapses/weight"] = np.full(3, float(end))  # the weights at the end of this part
        keep = (data["step"] >= first) & (data["step"] < end)
        order = np.lexsort((data["step"][keep], data["neuron"][keep]))
        f["spikes/step"] = data["step"][keep][order]
        f["spikes/neuron"] = data["neuron"][keep][order]
        f["spikes/u_at_spike"] = data["spike_u"][keep][order]  # a spike quantity (docs/extending.md)
        f["spikes/u_at_spike"].attrs["units"] = "1"
        keep = (data["in_step"] >= first) & (data["in_step"] < end)
        f["input/spikes/step"] = data["in_step"][keep]
        f["input/spikes/channel"] = data["in_channel"][keep]
        f["input/spikes/from_pattern"] = np.zeros(keep.sum(), np.uint8)
        if targets:  # a task's targets: rows from window starts; a restored run repeats the current
            rows = [i for i, s in enumerate(data["rate_step"]) if first <= s < end]
            step, value = data["rate_step"][rows], data["rate_value"][rows]
            if first > 0 and first not in data["rate_step"]:
                current = int(np.searchsorted(data["rate_step"], first)) - 1
                step = np.concatenate(([first], step))
                value = np.concatenate((data["rate_value"][current:current + 1], value))
            f["input/rate/step"] = step.astype(np.int64)
            f["input/rate/value"] = value
            f["input/rate/value"].attrs["units"] = "Hz"
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
                           "simulated_s": (end - first) / 1000, "simulate_s": 0.5, "network_spikes": 1.0,
                           "received_words": 10.0, "walk_s_sum": 0.25, "exchange_directed": float(first > 0)}.items():
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


def run_data():
    """The uninterrupted run's events and samples (a fixed seed)."""
    rng = np.random.default_rng(3)
    step, neuron = spikes(rng, 0, TOTAL)
    in_all = np.flatnonzero(rng.random(TOTAL * N_INPUTS) < 0.01)
    t_step = np.arange(0, TOTAL, DT_REC, dtype=np.int64)
    return {"step": step, "neuron": neuron, "spike_u": rng.random(len(step)), "in_step": (in_all // N_INPUTS).astype(np.int64),
            "in_channel": (in_all % N_INPUTS).astype(np.uint32),
            "pattern": np.where(np.arange(TOTAL) % 200 < 50, 0, -1).astype(np.int32),
            "t_step": t_step, "u": rng.random((len(t_step), 2)),
            "rate_step": np.arange(0, TOTAL, 100, dtype=np.int64), "rate_value": rng.random((TOTAL // 100 + 1, 2))[:len(range(0, TOTAL, 100))]}


def write_chain(folder, cuts, data):
    folder.mkdir()
    for k in range(len(cuts) - 1):
        write(folder / f"segment-{k + 1:03d}.h5", cuts[k], cuts[k + 1], int(k < len(cuts) - 2),
              phases_from(cuts[k]), data)


@pytest.fixture
def chain(tmp_path):
    data = run_data()
    write(tmp_path / "full.h5", 0, TOTAL, 0, phases_from(0), data)
    write_chain(tmp_path / "chain", [0, 555, 1234, TOTAL], data)  # stops inside the train phase (twice): a cut phase continues
    return tmp_path


def join(*args):
    return subprocess.run([PYTHON, os.path.join(TOOLS, "seqlearn-join"), *map(str, args)],
                          capture_output=True, text=True)


def test_joined_chain_equals_the_uninterrupted_run(chain):
    proc = join(chain / "chain")
    assert proc.returncode == 0, proc.stderr
    with h5py.File(chain / "full.h5") as full, h5py.File(chain / "chain" / "run.h5") as joined:
        for path in ("spikes/step", "spikes/neuron", "spikes/u_at_spike", "input/rate/step", "input/rate/value", "input/spikes/step", "input/spikes/channel",
                     "input/pattern_id", "input/sequence_id", "phases/name", "phases/first_step",
                     "phases/steps", "phases/learning", "traces/step", "traces/u", "traces/neuron"):
            assert np.array_equal(full[path][:], joined[path][:]), path
            assert full[path].dtype == joined[path].dtype, path
        assert joined["input/pattern_id"].attrs["first_step"] == 0
        # units travel too (hostile test: they were lost)
        assert joined["config/units"].attrs["run.protocol"] == "ms"
        assert joined["run/units"].attrs["simulated_s"] == "s"
        assert joined["spikes/step"].attrs["units"] == "steps"
        assert joined["spikes/u_at_spike"].attrs["units"] == "1"
        assert joined["network/synapses/weight"][0] == TOTAL  # the last segment's network
        run = joined["run"].attrs
        assert (run["first_step"], run["last_step"], run["interrupted"], run["segments"]) == (0, TOTAL, 0, 3)
        assert run["simulated_s"] == pytest.approx(TOTAL / 1000)
        assert run["network_spikes"] == 3
        # the exchange's counters too (hostile test: received_words was the last segment's);
        # the mode is the last segment's
        assert (run["received_words"], run["walk_s_sum"], run["exchange_directed"]) == (30, 0.75, 1)
        assert run["joined_from"].split("\n") == ["segment-001.h5", "segment-002.h5", "segment-003.h5"]


def test_targets_absent_from_a_later_segment_join(chain, tmp_path):
    """A segment whose remaining protocol no longer runs the task has no /input/rate (hostile
    test: the join failed on it); the rows of the others are the joined run's."""
    with h5py.File(chain / "chain" / "segment-003.h5", "a") as f:
        del f["input/rate"]
    proc = join("--out", tmp_path / "joined.h5", chain / "chain")
    assert proc.returncode == 0, proc.stderr
    with h5py.File(chain / "full.h5") as full, h5py.File(tmp_path / "joined.h5") as joined:
        keep = full["input/rate/step"][:] < 1234
        assert np.array_equal(joined["input/rate/step"][:], full["input/rate/step"][:][keep])
        assert np.array_equal(joined["input/rate/value"][:], full["input/rate/value"][:][keep])
        assert joined["input/rate/value"].attrs["units"] == "Hz"


def test_messages_name_the_segment_not_a_descriptor(chain):
    """Hostile test: the messages said /proc/self/fd/3."""
    with h5py.File(chain / "chain" / "segment-002.h5", "a") as f:
        del f["input/rate/value"]
    proc = join("--out", chain / "joined.h5", chain / "chain")
    assert proc.returncode == 2
    assert "segment-002.h5" in proc.stderr and "/proc/self" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("damage", ["missing", "short", "group"])
def test_a_segment_whose_spike_columns_differ_is_refused(chain, damage):
    """Each spike quantity is one value per spike in every segment (hostile: a column of
    another length would pair values with other spikes)."""
    with h5py.File(chain / "chain" / "segment-002.h5", "a") as f:
        column = f["spikes/u_at_spike"][:]
        del f["spikes/u_at_spike"]
        if damage == "short":
            f["spikes/u_at_spike"] = column[:-1]
        elif damage == "group":
            f.create_group("spikes/u_at_spike")
    proc = join("--out", chain / "joined.h5", chain / "chain")
    assert proc.returncode == 2, proc.stderr
    assert "/spikes" in proc.stderr and "Traceback" not in proc.stderr
    assert not (chain / "joined.h5").exists()


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


# ---- issue 18: a join proves that its segments are one run (D3, D4), D13, D15, D2 ----

def test_segments_of_two_seeds_are_refused(chain):
    """D4: segments of --seed 1 and --seed 2 joined with exit 0, the result claiming seed 1."""
    folder = chain / "chain"
    with h5py.File(folder / "segment-002.h5", "r+") as f:
        f["config"].attrs["run.seed"] = "2"
    proc = join(folder)
    assert proc.returncode == 2 and "segment-002.h5: run.seed 2, but the first segment's is 1" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
    assert sorted(os.listdir(folder)) == ["segment-001.h5", "segment-002.h5", "segment-003.h5"]


def test_segments_of_another_network_are_refused(chain):
    """D4: same seed and sizes, another network (the fixed structure differs)."""
    folder = chain / "chain"
    with h5py.File(folder / "segment-003.h5", "r+") as f:
        f["network/synapses/pre"][1] = 4
    proc = join(folder)
    assert proc.returncode == 2 and "segment-003.h5: its network" in proc.stderr


def test_a_chain_whose_first_segment_is_missing_is_refused(chain):
    """D3: a chain folder whose segment-001.h5 was moved away was joined and reported complete."""
    folder = chain / "chain"
    os.rename(folder / "segment-001.h5", chain / "moved.h5")
    proc = join(folder)
    assert proc.returncode == 2
    assert "segment-002.h5: the first segment starts at step 555, not at the run's first step 0" in proc.stderr
    assert not (folder / "run.h5").exists()
    # a chain that began with --restore at step 555 says so
    proc = join(folder, "--start-step", "555")
    assert proc.returncode == 0, proc.stderr


def test_each_segments_config_is_recorded(chain):
    """D4: a continuation restored with another learning rate joined, and /config still claimed
    the first segment's; now /config_segments has each and /run config_changes says what changed."""
    folder = chain / "chain"
    with h5py.File(folder / "segment-002.h5", "r+") as f:
        f["config"].attrs["plasticity.learning_rate"] = "0.9"
    proc = join(folder)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(folder / "run.h5") as joined:
        segs = joined["config_segments"]
        assert sorted(segs) == ["000", "001", "002"]
        assert segs["001"].attrs["plasticity.learning_rate"] == "0.9"
        assert segs["000"].attrs["plasticity.learning_rate"] == "0.05"
        assert segs["001"].attrs["segment_file"] == "segment-002.h5"
        assert (segs["001"].attrs["segment_first_step"], segs["001"].attrs["segment_last_step"]) == (555, 1234)
        assert joined["run"].attrs["config_changes"] == "segment-002.h5: plasticity.learning_rate 0.05 -> 0.9"


def test_segments_sort_numerically(chain):
    """D15: segment-1000.h5 sorted before segment-999.h5 (as text)."""
    folder = chain / "chain"
    for old, new in (("001", "998"), ("002", "999"), ("003", "1000")):
        os.rename(folder / f"segment-{old}.h5", folder / f"segment-{new}.h5")
    proc = join(folder)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(folder / "run.h5") as joined:
        assert joined["run"].attrs["joined_from"].split("\n") == ["segment-998.h5", "segment-999.h5", "segment-1000.h5"]


def crafted(chain, change, segments=(2,)):
    for k in segments:
        with h5py.File(chain / "chain" / f"segment-{k:03d}.h5", "r+") as f:
            change(f)
    return join(chain / "chain")


@pytest.mark.parametrize("case", ["n_neurons", "neuron_id", "huge_dataset", "missing_attr", "missing_group",
                                  "nan_step", "string_seed_missing", "scalar_spikes"])
def test_crafted_segments_give_one_line_and_leave_nothing(chain, case):
    """D13: crafted files made the join try 8 TiB allocations or raise KeyError, and left
    .partial files behind."""
    def change(f):
        if case == "n_neurons":
            for g in ("network",):
                f[g].attrs["n_neurons"] = 2 ** 40
        elif case == "neuron_id":
            f["spikes/neuron"][0] = 2 ** 40
        elif case == "huge_dataset":
            del f["spikes/step"]
            f.create_dataset("spikes/step", shape=(2 ** 40,), dtype=np.int64, chunks=(1024,))
        elif case == "missing_attr":
            del f["run"].attrs["last_step"]
        elif case == "missing_group":
            del f["phases"]
        elif case == "nan_step":
            f["run"].attrs["first_step"] = float("nan")
        elif case == "string_seed_missing":
            del f["config"].attrs["run.seed"]
        elif case == "scalar_spikes":
            del f["spikes/neuron"]
            f["spikes/neuron"] = 3
    proc = crafted(chain, change, (1, 2, 3) if case == "n_neurons" else (2,))  # all alike: 8 TiB of counts
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert not [n for n in os.listdir(chain / "chain") if "partial" in n or n == "run.h5"]


def test_out_in_a_missing_folder_is_one_line(chain):
    proc = join("--out", chain / "missing" / "dir" / "x.h5", *(chain / "chain" / f"segment-{k:03d}.h5" for k in (1, 2, 3)))
    assert proc.returncode == 2 and proc.stderr.startswith("seqlearn-join: no folder") and "Traceback" not in proc.stderr


def test_a_link_planted_at_the_partial_or_the_output_is_never_written_through(chain):
    """D2: a symlink planted at OUT.partial received the HDF5 output, and OUT became a link to it."""
    folder = chain / "chain"
    victim = chain / "victim.txt"
    victim.write_text("precious")
    os.symlink(victim, folder / "run.h5.partial")
    proc = join(folder)
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "precious"
    assert not os.path.islink(folder / "run.h5") and h5py.is_hdf5(folder / "run.h5")
    # a link at the output itself: refused even with --overwrite
    os.unlink(folder / "run.h5")
    os.symlink(victim, folder / "run.h5")
    for extra in ((), ("--overwrite",)):
        proc = join(folder, *extra)
        assert proc.returncode == 2 and "is a symbolic link" in proc.stderr
    assert victim.read_text() == "precious"
    # a FIFO or a device at the output, a FIFO or a folder among the segments
    os.unlink(folder / "run.h5")
    os.mkfifo(folder / "run.h5")
    proc = join(folder, "--overwrite")
    assert proc.returncode == 2 and "is a FIFO" in proc.stderr
    proc = join("--out", "/dev/null", "--overwrite", *(folder / f"segment-{k:03d}.h5" for k in (1, 2, 3)))
    assert proc.returncode == 2 and "character device" in proc.stderr
    os.mkfifo(chain / "fifo.h5")
    proc = join("--out", chain / "x.h5", folder / "segment-001.h5", chain / "fifo.h5")
    assert proc.returncode == 2 and "is a FIFO, not a regular file" in proc.stderr
    proc = join("--out", chain / "x.h5", folder / "segment-001.h5", folder)
    assert proc.returncode == 2 and "is a folder, not a regular file" in proc.stderr
    assert not [n for n in os.listdir(folder) if ".partial." in n]


def test_an_output_that_appears_meanwhile_is_kept(chain, monkeypatch):
    """D11 for the join: without --overwrite, a file created at OUT while the join writes is kept."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(TOOLS), "python"))
    from seqlearn import safe_io
    from seqlearn.cli import join as join_module
    folder = chain / "chain"
    real = join_module.join_run

    def and_someone_writes(files, out, names):
        real(files, out, names)
        (folder / "run.h5").write_text("theirs")
    monkeypatch.setattr(join_module, "join_run", and_someone_writes)
    assert join_module.main([str(folder)]) == 2
    assert (folder / "run.h5").read_text() == "theirs"
    assert not [n for n in os.listdir(folder) if ".partial." in n]
    assert safe_io  # the helper module the tools share


def test_joined_chain_keeps_the_first_segments_prior_training(chain):
    """/run prior_learning_steps (training before the file's first step) is the first
    segment's: later segments' count training that the joined file holds itself."""
    folder = chain / "chain"
    for i, prior in ((1, 0.0), (2, 111.0), (3, 222.0)):
        with h5py.File(folder / f"segment-00{i}.h5", "r+") as f:
            f["run"].attrs["prior_learning_steps"] = prior
    proc = join(folder)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(folder / "run.h5") as joined:
        assert joined["run"].attrs["prior_learning_steps"] == 0.0


@pytest.mark.parametrize("change", ["dropped", "added"])
def test_segments_that_record_other_quantities_are_refused(chain, change):
    """record.quantities may change at a restore; the join then has rows of a quantity for only
    some segments, and refuses the chain naming the segment and the dataset (hostile: a dropped
    column would make a /traces/u shorter than /traces/step, an added one be lost)."""
    with h5py.File(chain / "chain" / "segment-002.h5", "a") as f:
        if change == "dropped":
            del f["traces/u"]
        else:
            f["traces/p"] = f["traces/u"][:]
    proc = join("--out", chain / "joined.h5", chain / "chain")
    assert proc.returncode == 2, proc.stderr
    assert "segment-002.h5" in proc.stderr and "/traces" in proc.stderr, proc.stderr
    assert "record.quantities" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (chain / "joined.h5").exists()


def test_a_segment_without_a_trace_sample_joins(tmp_path):
    """A segment stopped within record.dt_rec steps of its start (here 555-558, samples every 10
    steps) has no trace row, and seqlearn then writes its weight traces [0, 0] and their synapse
    lists empty (hostile test: the join refused the chain, the lists differing)."""
    data = run_data()
    write(tmp_path / "full.h5", 0, TOTAL, 0, phases_from(0), data)
    write_chain(tmp_path / "chain", [0, 555, 558, TOTAL], data)
    weights = np.random.default_rng(5).random((len(data["t_step"]), 2))
    for path in [tmp_path / "full.h5"] + sorted((tmp_path / "chain").glob("segment-*.h5")):
        with h5py.File(path, "r+") as f:
            rows = np.searchsorted(data["t_step"], f["traces/step"][:])
            if len(rows) == 0:
                for key in ("weight_pre", "weight_post"):
                    del f["traces/" + key]
                    f["traces/" + key] = np.zeros(0, np.uint64)
                f["traces/weight"] = np.zeros((0, 0))
            else:
                f["traces/weight"] = weights[rows]
    with h5py.File(tmp_path / "chain" / "segment-002.h5") as f:
        assert f["traces/step"].shape == (0,)
    proc = join(tmp_path / "chain")
    assert proc.returncode == 0, proc.stderr
    with h5py.File(tmp_path / "full.h5") as full, h5py.File(tmp_path / "chain" / "run.h5") as joined:
        for path in ("traces/step", "traces/u", "traces/weight", "traces/neuron", "traces/weight_pre",
                     "traces/weight_post", "spikes/step", "spikes/neuron"):
            assert np.array_equal(full[path][:], joined[path][:]), path
    # a sampled segment whose lists differ is still refused
    with h5py.File(tmp_path / "chain" / "segment-003.h5", "r+") as f:
        f["traces/weight_pre"][0] = 7
    (tmp_path / "chain" / "run.h5").unlink()
    proc = join(tmp_path / "chain")
    assert proc.returncode != 0 and "segment-003.h5: /traces/weight_pre differs" in proc.stderr, proc.stderr
