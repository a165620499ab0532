"""Tests of the readouts of docs/model.md 11.3 and the reference reproducibility of 11.5
(seqlearn.analysis, tools/seqlearn-analyze, seqlearn-sweep --collect) on synthetic output
files written here with h5py, following docs/output.md and the fields of issue 11
(/phases/task, /input/pattern_id [T, 2], input.t_pattern_xor)."""
import csv
import json
import math
import os
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

TOOLS = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(TOOLS), "python"))
import seqlearn.analysis as sa  # noqa: E402

PYTHON = "/usr/bin/python3"
WINDOW = 50  # input.t_pattern_xor, ms (dt = 1 ms)


def write_run(path, phases, n_inputs, n_neurons, spikes, input_spikes, pattern_id, sequence_id=None,
              config=None, traces=None, tasks=True):
    """An output file: phases [(name, steps, learning, task)], spikes (steps, ids) of the network
    and of the inputs, per-step labels ([T] or [T, 2]), config extras, traces {step, neuron, p}."""
    total = sum(p[1] for p in phases)
    pattern_id = np.asarray(pattern_id, np.int32)
    assert pattern_id.shape[0] == total
    if sequence_id is None:
        sequence_id = np.full(total, -1, np.int32)
    with h5py.File(path, "w") as f:
        c = f.create_group("config")
        keys = {"neuron.dt": "1", "neuron.r_max": "100", "neuron.tau_decay": "20", "input.n_patterns": "1",
                "input.t_pattern": "100", "input.pattern_sequences": "0", "input.t_pattern_xor": str(WINDOW),
                "run.seed": "1"}
        keys.update(config or {})
        for key, value in keys.items():
            c.attrs[key] = value
        net = f.create_group("network")
        for key, value in {"n_neurons": n_neurons, "n_inputs": n_inputs, "n_circuits": 1, "rows": 1, "cols": 1}.items():
            net.attrs[key] = value
        net["circuit_size"] = np.array([n_neurons], np.int32)
        net["circuit_of"] = np.zeros(n_neurons, np.uint32)
        steps, ids = spikes
        order = np.lexsort((steps, ids))  # by neuron, then step (docs/output.md)
        f["spikes/step"] = np.asarray(steps, np.int64)[order]
        f["spikes/neuron"] = np.asarray(ids, np.uint64)[order]
        steps, channels = input_spikes
        order = np.lexsort((channels, steps))
        f["input/spikes/step"] = np.asarray(steps, np.int64)[order]
        f["input/spikes/channel"] = np.asarray(channels, np.uint32)[order]
        f["input/spikes/from_pattern"] = np.zeros(len(steps), np.uint8)
        f["input/pattern_id"] = pattern_id
        f["input/pattern_id"].attrs["first_step"] = np.int64(0)
        f["input/sequence_id"] = np.asarray(sequence_id, np.int32)
        f["input/sequence_id"].attrs["first_step"] = np.int64(0)
        first = np.cumsum([0] + [p[1] for p in phases])[:-1]
        f["phases/name"] = np.array([p[0] for p in phases], dtype="S5")
        if tasks:
            f["phases/task"] = np.array([p[3] for p in phases], dtype="S7")
        f["phases/first_step"] = first.astype(np.int64)
        f["phases/steps"] = np.array([p[1] for p in phases], np.int64)
        f["phases/learning"] = np.array([p[2] for p in phases], np.uint8)
        t = f.create_group("traces")
        traces = traces or {"step": np.zeros(0, np.int64), "neuron": np.zeros(0, np.uint64)}
        for key, value in traces.items():
            t[key] = value
    return path


def bernoulli_spikes(rate, rng):
    """Spikes of a [T, n] per-step probability map: (steps, ids)."""
    steps, ids = np.nonzero(rng.random(rate.shape) < rate)
    return steps, ids


def xor_run(path, phases, seed=1, n_inputs=8):
    """An xor-task run (every phase xor, or pattern phases silent): half 1 = channels 0-3 (id a:
    channels 2a, 2a+1 fire with p = 0.3 a step), half 2 = channels 4-7 likewise, noise 0.01 on
    all. Network: neuron 2a + b fires every step of a window (XOR is linear in that state),
    neuron 4 + b' every step, b' = half 2's id in the previous window (memory)."""
    rng = np.random.default_rng(seed)
    total = sum(p[1] for p in phases)
    labels = np.full((total, 2), -1, np.int32)
    in_rate = np.zeros((total, n_inputs))
    net = np.zeros((total, 6))
    start = 0
    for name, steps, learning, task in phases:
        if task == "xor":
            previous_b = None
            a, b = rng.integers(2), rng.integers(2)
            for w0 in range(start, start + steps, WINDOW):
                w1 = min(w0 + WINDOW, start + steps)
                if w0 > start:
                    a = a ^ int(rng.random() < 0.5)
                    b = b ^ int(rng.random() < 0.5)
                labels[w0:w1] = a, b
                in_rate[w0:w1, [2 * a, 2 * a + 1, 4 + 2 * b, 5 + 2 * b]] = 0.3
                net[w0:w1, 2 * a + b] = 1
                if previous_b is not None:
                    net[w0:w1, 4 + previous_b] = 1
                previous_b = b
        start += steps
    in_rate = np.maximum(in_rate, 0.01)
    return write_run(path, phases, n_inputs, 6, bernoulli_spikes(net, rng), bernoulli_spikes(in_rate, rng), labels)


# --- the filter, least squares, Pearson --------------------------------------------------------


def test_sampled_state_equals_the_recursion():
    rng = np.random.default_rng(3)
    n_units, first, end = 5, 100, 1100
    steps = rng.integers(0, 1200, 3000)  # spikes before `first` and after the last sample too
    ids = rng.integers(0, n_units, 3000)
    at = np.sort(rng.choice(np.arange(first, end), 60, replace=False))
    at = np.r_[first, at[at > first]]  # a sample at the first step as well
    decay = 1 - 1 / 20
    x, expected = np.zeros(n_units), []
    for n in range(first, end):
        x *= decay
        np.add.at(x, ids[steps == n], 1.0)
        if n in set(at.tolist()):
            expected.append(x.copy())
    got = sa.sampled_state(steps, ids, n_units, first, at, decay)
    assert got.shape == (len(at), n_units)
    assert np.max(np.abs(got - np.array(expected))) < 1e-9
    # filtered_state: every 20 ms from the phase's first step, steps 19, 39, ... of the phase
    states, sampled = sa.filtered_state(steps, ids, n_units, first, end, 1.0)
    assert list(sampled[:3]) == [first + 19, first + 39, first + 59] and sampled[-1] == end - 1


def test_least_squares_by_hand():
    # t = 0.9 x - 0.1 is the least-squares line through (0,0) (1,1) (2,1) (3,3):
    # slope = Sxt / Sxx = 4.5 / 5, intercept = 1.25 - 0.9 * 1.5
    x, t = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0.0, 1.0, 1.0, 3.0])
    assert sa.least_squares(x, t) == pytest.approx([0.9, -0.1], abs=1e-12)
    assert sa.readout_output(x, sa.least_squares(x, t)) == pytest.approx([-0.1, 0.8, 1.7, 2.6])
    # r = Sxt / sqrt(Sxx Stt) = 4.5 / sqrt(5 * 4.75)
    assert sa.readout_score(x, t, x, t) == pytest.approx(4.5 / math.sqrt(5 * 4.75), abs=1e-12)
    # an exact linear target scores 1, its negation -1; a constant column is left out of the mean
    x2 = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [1.0, 3.0], [0.5, 0.5]])
    target = np.c_[2 * x2[:, 0] - x2[:, 1] + 4, np.ones(5)]
    assert sa.readout_score(x2, target, x2, target) == pytest.approx(1.0, abs=1e-12)
    assert sa.readout_score(x2, target, x2, -target) == pytest.approx(-1.0, abs=1e-12)
    assert math.isnan(sa.pearson([1, 2, 3], [5, 5, 5]))


# --- xor and memory -------------------------------------------------------------------------------


XOR_PHASES = [("test", 10000, 0, "xor"), ("test", 5000, 0, "xor")]


def test_xor_state_scores_one_and_its_input_zero(tmp_path):
    path = xor_run(str(tmp_path / "xor.h5"), XOR_PHASES)
    result = sa.analyze(path)
    xor, memory = result["readout_xor"], result["readout_memory"]
    assert xor["network"] > 0.95, xor
    assert abs(xor["input"]) < 0.2, xor
    assert memory["network"] > 0.95, memory
    assert memory["input"] < memory["network"] - 0.4, memory
    # samples: the last step of every 50-step window; memory has no target in the first window
    assert (xor["n_fit"], xor["n_score"]) == (200, 100)
    assert (memory["n_fit"], memory["n_score"]) == (199, 99)
    (block,) = xor["blocks"]
    assert (block["fit_phase"], block["score_phases"], block["split"]) == (0, [1], False)
    assert xor["before"] is None and not xor["fit_samples_equalised"]
    # an xor run has no pattern phases: no pattern readout, no locking
    assert result["readout_pattern"] is None and result["trained"] is None and result["untrained"] is None
    assert result["phase_tasks"] == ["xor", "xor"]
    json.dumps(sa.jsonable(result), allow_nan=False)


def test_xor_targets_at_window_ends(tmp_path):
    path = xor_run(str(tmp_path / "xor.h5"), [("test", 520, 0, "xor")])
    with sa.Run(path) as run:
        (phase,) = run.phases
        at = sa.sample_steps(run, phase, "xor")
        assert list(at) == [49 + 50 * k for k in range(10)]  # the partial last window has none
        targets = sa.readout_targets(run, phase, "xor", at)
        a = sa.stream_labels(run, "pattern_id", 0, 520, 0)
        b = sa.stream_labels(run, "pattern_id", 0, 520, 1)
        rows, values = targets["xor"]
        assert list(rows) == list(range(10)) and list(values) == [1 if a[s] != b[s] else -1 for s in at]
        rows, values = targets["memory"]
        assert list(rows) == list(range(1, 10)) and list(values) == [1 if b[s - 50] == 1 else -1 for s in at[1:]]


# --- pattern and sequence -------------------------------------------------------------------------


def pattern_run(path, phases, seed=2, copy=True, two_columns=True, traces=None):
    """A pattern-task run: patterns 0 and 1 (100 steps, sequences 0 and 1) every 300 steps from
    step 100 of each phase, pattern p driving channels 4p..4p+3 (p = 0.3 a step), noise 0.01;
    the network copies the input spike for spike (neuron j = channel j)."""
    rng = np.random.default_rng(seed)
    total = sum(p[1] for p in phases)
    pattern = np.full(total, -1, np.int32)
    start = 0
    for name, steps, learning, task in phases:
        for k, s in enumerate(range(start + 100, start + steps - 100, 300)):
            pattern[s : s + 100] = k % 2
        start += steps
    rate = np.full((total, 8), 0.01)
    for p in (0, 1):
        rate[np.ix_(pattern == p, range(4 * p, 4 * p + 4))] = 0.3
    inputs = bernoulli_spikes(rate, rng)
    labels = np.c_[pattern, np.full(total, -1, np.int32)] if two_columns else pattern
    network = inputs if copy else bernoulli_spikes(np.full((total, 8), 0.02), rng)
    return write_run(path, phases, 8, 8, network, inputs, labels, sequence_id=pattern,
                     config={"input.n_patterns": "2", "input.pattern_sequences": "0;1"}, traces=traces)


def test_pattern_readout_of_a_state_that_copies_the_input(tmp_path):
    path = pattern_run(str(tmp_path / "copy.h5"), [("test", 3000, 0, "pattern"), ("test", 3000, 0, "pattern")])
    result = sa.analyze(path)
    for target in ("pattern", "sequence"):
        readout = result["readout_" + target]
        assert readout["network"] == pytest.approx(readout["input"], abs=1e-9)
        assert readout["network"] > 0.8
        assert readout["blocks"][0]["classes"] == [0, 1]
        assert (readout["n_fit"], readout["n_score"]) == (150, 150)  # every 20 ms
    assert result["readout_xor"] is None and result["readout_memory"] is None


def test_file_task_labels_readout(tmp_path):
    """file phases: one target per label value of column 0, sampled every 20 ms."""
    path = pattern_run(str(tmp_path / "file.h5"), [("test", 3000, 0, "file"), ("test", 3000, 0, "file")])
    result = sa.analyze(path)
    labels = result["readout_labels"]
    assert labels["network"] == pytest.approx(labels["input"], abs=1e-9) and labels["network"] > 0.8
    assert labels["blocks"][0]["classes"] == [0, 1] and (labels["n_fit"], labels["n_score"]) == (150, 150)
    assert result["readout_pattern"] is None and result["readout_xor"] is None
    assert result["untrained"] is None  # no pattern-task phase: no locking measures
    assert result["reproducibility_reference"]["phases"] == []


def test_old_one_column_files_still_analysed(tmp_path):
    """A file before issue 11: 1-D labels, no /phases/task: pattern phases; stream 1 is -1."""
    phases = [("test", 3000, 0, "pattern"), ("test", 3000, 0, "pattern")]
    old = pattern_run(str(tmp_path / "old.h5"), phases, two_columns=False)
    with h5py.File(old, "r+") as f:
        del f["phases/task"]
    new = pattern_run(str(tmp_path / "new.h5"), phases, two_columns=True)
    with sa.Run(old) as run:
        assert [sa.phase_task(run, p) for p in run.phases] == ["pattern", "pattern"]
        assert run.file["input/pattern_id"].ndim == 1
        assert np.all(sa.stream_labels(run, "pattern_id", 100, 300, 1) == -1)
        assert len(sa.presentations(run, 0, 3000)) == 10
    a, b = sa.analyze(old), sa.analyze(new)
    assert a["readout_pattern"]["network"] == pytest.approx(b["readout_pattern"]["network"], abs=1e-12)
    assert a["trained"] is None and a["untrained"]["phases"] == [0, 1]
    proc = subprocess.run([PYTHON, os.path.join(TOOLS, "seqlearn-analyze"), old], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert os.path.isfile(str(tmp_path / "old.analysis.json"))


# --- blocks, fit and score phases, equal fit samples ----------------------------------------------


MIXED = [("test", 2000, 0, "pattern"),   # 0  block 0 (before training): pattern, split
         ("test", 3000, 0, "xor"),       # 1  block 0: xor fit (60 windows)
         ("test", 2000, 0, "xor"),       # 2  block 0: xor score
         ("train", 1000, 1, "pattern"),  # 3
         ("test", 2000, 0, "pattern"),   # 4  block 1: pattern, split
         ("test", 4000, 0, "xor"),       # 5  block 1: xor fit (80 windows)
         ("test", 1000, 0, "xor"),       # 6  block 1: xor score
         ("test", 1000, 0, "xor"),       # 7  block 1: xor score
         ("train", 500, 1, "pattern"),   # 8
         ("test", 3000, 0, "xor")]       # 9  block 2: xor alone, split (30 windows fit)


def test_blocks_fit_and_score_phases(tmp_path):
    path = xor_run(str(tmp_path / "mixed.h5"), MIXED)
    with sa.Run(path) as run:
        blocks = sa.readout_blocks(run)
        assert [([p.index for p in b["phases"]], b["trained_ms"], b["before"]) for b in blocks] == [
            ([0, 1, 2], 0.0, True), ([4, 5, 6, 7], 1000.0, False), ([9], 1500.0, False)]
        plan = [(task, fit.index, [p.index for p in scores], split) for _, task, fit, scores, split in sa.readout_plan(run)]
        assert plan == [("pattern", 0, [], True), ("xor", 1, [2], False), ("pattern", 4, [], True),
                        ("xor", 5, [6, 7], False), ("xor", 9, [], True)]
    result = sa.analyze(path)
    xor = result["readout_xor"]
    assert [(b["fit_phase"], b["score_phases"], b["trained_ms"]) for b in xor["blocks"]] == [
        (1, [2], 0.0), (5, [6, 7], 1000.0), (9, [9], 1500.0)]
    # equally many fit samples in every block: the smallest (block 2's first half: 30 windows)
    assert xor["n_fit_available"] == [60, 80, 30] and [b["n_fit"] for b in xor["blocks"]] == [30, 30, 30]
    assert xor["fit_samples_equalised"] and xor["n_fit"] == 30 and xor["before"]["n_fit"] == 30
    assert [b["n_score"] for b in xor["blocks"]] == [40, 40, 30]
    assert len(xor["blocks"][1]["score_network"]) == 2  # one score per score phase, averaged
    assert xor["blocks"][1]["network"] == pytest.approx(np.mean(xor["blocks"][1]["score_network"]))
    assert xor["before"]["trained_ms"] == 0 and xor["trained_ms"] == 1500
    memory = result["readout_memory"]
    assert memory["n_fit_available"] == [59, 79, 29] and memory["n_fit"] == 29
    # the top level is the last block, "before" the block before any training
    assert xor["network"] == xor["blocks"][-1]["network"] and xor["before"]["network"] == xor["blocks"][0]["network"]
    assert all(b["network"] > 0.9 for b in xor["blocks"])  # 30 fit samples, 7 features
    # pattern phases are silent here (no labels): a pattern readout without targets is null
    assert result["readout_pattern"]["network"] is None or math.isnan(result["readout_pattern"]["network"])
    text = json.dumps(sa.jsonable(result), allow_nan=False)
    assert "NaN" not in text
    columns = sa.summary_columns(sa.jsonable(result))
    assert columns["readout_xor_network"] == xor["network"] and columns["readout_xor_before_input"] == xor["before"]["input"]
    assert columns["readout_pattern_network"] is None


def test_analyze_cli_on_an_xor_run_and_sweep_collect(tmp_path):
    folder = tmp_path / "sweep"
    folder.mkdir()
    xor_run(str(folder / "run.seed=1.h5"), MIXED)
    proc = subprocess.run([PYTHON, os.path.join(TOOLS, "seqlearn-analyze"), str(folder / "run.seed=1.h5")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "memory" in proc.stdout and "before training" in proc.stdout and "after 1.5 s" in proc.stdout
    data = json.loads((folder / "run.seed=1.analysis.json").read_text())
    assert data["readout_xor"]["n_fit"] == 30
    (folder / "sweep.json").write_text(json.dumps({"keys": ["run.seed"], "points": [{"name": "run.seed=1", "values": {"run.seed": "1"}}]}))
    proc = subprocess.run([PYTHON, os.path.join(TOOLS, "seqlearn-sweep"), "--collect", str(folder)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with open(folder / "summary.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert float(row["readout_xor_network"]) == pytest.approx(data["readout_xor"]["network"])
    assert float(row["readout_memory_before_network"]) == pytest.approx(data["readout_memory"]["before"]["network"])
    assert "readout_xor_input" in row and "readout_pattern_network" in row



def test_sweep_collect_survives_a_truncated_point(tmp_path):
    """One point's output cut short (a copy or a run killed while writing): --collect still writes
    summary.csv, that point with status `unreadable` and the reason, the others analysed; exit 1."""
    folder = tmp_path / "sweep"
    folder.mkdir()
    whole = xor_run(str(folder / "run.seed=1.h5"), MIXED)
    xor_run(str(folder / "run.seed=2.h5"), MIXED, seed=2)
    data = open(whole, "rb").read()
    (folder / "run.seed=3.h5").write_bytes(data[: len(data) // 3])
    (folder / "run.seed=4.h5").write_bytes(data[:5000])
    points = [{"name": f"run.seed={s}", "values": {"run.seed": str(s)}} for s in (1, 2, 3, 4, 5)]
    (folder / "sweep.json").write_text(json.dumps({"keys": ["run.seed"], "points": points}))
    proc = subprocess.run([PYTHON, os.path.join(TOOLS, "seqlearn-sweep"), "--collect", str(folder)],
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "unreadable: run.seed=3, run.seed=4" in proc.stdout and "missing: run.seed=5" in proc.stdout
    with open(folder / "summary.csv") as f:
        rows = {r["point"]: r for r in csv.DictReader(f)}
    assert [rows[f"run.seed={s}"]["status"] for s in (1, 2, 3, 4, 5)] == ["done", "done", "unreadable", "unreadable", "missing"]
    assert "truncated" in rows["run.seed=3"]["reason"] and "truncated" in rows["run.seed=4"]["reason"]
    assert rows["run.seed=5"]["reason"] == "no output file" and rows["run.seed=1"]["reason"] == ""
    assert float(rows["run.seed=1"]["readout_xor_network"]) > 0.9 and rows["run.seed=3"]["readout_xor_network"] == ""
    assert not (folder / "run.seed=3.analysis.json").exists()


# --- reproducibility as the reference code measures it --------------------------------------------


def bump(length, peak):
    """A smooth rate-fraction shape on normalised time, peak `peak` (p of r_max = 100 Hz)."""
    u = (np.arange(length) + 0.5) / length
    shape = np.sin(math.pi * u) ** 2 * (1 + 0.5 * np.cos(5 * u))
    return peak * (0.1 + 0.9 * shape / shape.max())


def test_reproducibility_reference_on_known_correlations(tmp_path):
    # phase 0 (before training): presentations at 100-199, 400-499, 700-819 (the third one
    # warped to 120 steps) of sequence 0; phase 2 (after training) the same, untraced.
    phases = [("test", 1000, 0, "pattern"), ("train", 500, 1, "pattern"), ("test", 1000, 0, "pattern")]
    total = 2500
    pattern = np.full(total, -1, np.int32)
    shown = [(100, 100), (400, 100), (700, 120)]
    for offset in (0, 1500):
        for s, n in shown:
            pattern[offset + s : offset + s + n] = 0
    n = 5
    p = np.full((1000, n), 0.05)  # traced: phase 0, every step, all neurons
    f = bump(100, 1.0)
    for k, (s, length) in enumerate(shown):
        shape = bump(length, 1.0)  # the same shape on normalised time
        p[s : s + length, 0] = shape                                   # r = 1 with both
        p[s : s + length, 1] = shape if k != 1 else f[::-1]            # 1-2: corr(f, reversed f); 1-3: 1
        p[s : s + length, 2] = 0.5 * shape                             # 50 Hz: never counted
        p[s : s + length, 3] = shape if k != 1 else 0.5 * f            # below 90 Hz in presentation 2
        p[s : s + length, 4] = shape if k != 2 else -shape + 1.2       # 1-3: r = -1
    traces = {"step": np.arange(1000, dtype=np.int64), "neuron": np.arange(n, dtype=np.uint64), "p": p}
    path = write_run(str(tmp_path / "rep.h5"), phases, 2, n, (np.zeros(0), np.zeros(0)), (np.zeros(0), np.zeros(0)),
                     np.c_[pattern, np.full(total, -1)], sequence_id=pattern, traces=traces)
    result = sa.analyze(path)
    ref = result["reproducibility_reference"]
    first, second = ref["phases"]
    reversed_r = np.corrcoef(f, f[::-1])[0, 1]
    assert first["trained_ms"] == 0 and second["trained_ms"] == 500
    # 1-2: neurons 0, 1, 4 (2 never reaches 90 Hz, 3 not in presentation 2)
    assert first["n_neurons"] == 3 and first["corr_1_2"] == pytest.approx((1 + reversed_r + 1) / 3, abs=1e-9)
    # 1-3 (presentation 3 resampled from 120 to 100 steps): neurons 0, 1, 3 at r ~ 1, 4 at r = -1
    assert first["n_neurons_1_3"] == 4 and first["corr_1_3"] == pytest.approx((1 + 1 + 1 - 1) / 4, abs=1e-3)
    assert second["corr_1_2"] is None and "traces" in second["reason"]
    assert ref["corr_1_2"] is None and ref["trained_ms"] == 500  # the last phase's values on top
    json.dumps(sa.jsonable(result), allow_nan=False)



def test_no_traces_reason_with_dt_rec_zero(tmp_path):
    """Hostile test: with record.dt_rec = 0 (no trace rows, the traced neurons still listed) the
    reason said "/traces cover 20 of 63 neurons" instead of naming dt_rec."""
    phases = [("test", 1000, 0, "pattern")]
    pattern = np.full(1000, -1, np.int32)
    for s in (100, 400, 700):
        pattern[s:s + 100] = 0
    traces = {"step": np.zeros(0, np.int64), "neuron": np.arange(3, dtype=np.uint64), "p": np.zeros((0, 3))}
    path = write_run(str(tmp_path / "norec.h5"), phases, 2, 5, (np.zeros(0), np.zeros(0)), (np.zeros(0), np.zeros(0)),
                     np.c_[pattern, np.full(1000, -1)], sequence_id=np.where(pattern >= 0, 0, -1),
                     config={"record.dt_rec": "0"}, traces=traces)
    (phase,) = sa.analyze(path)["reproducibility_reference"]["phases"]
    assert phase["corr_1_2"] is None and phase["reason"] == "no traces (record.dt_rec = 0)"


def test_a_single_class_readout_says_why_it_has_no_score(tmp_path):
    """Hostile test: file labels of one value only (every sample labelled) gave readout_labels a
    null score and no reason."""
    phases = [("test", 1000, 0, "file"), ("test", 1000, 0, "file")]
    rng = np.random.default_rng(2)
    net = np.nonzero(rng.random((2000, 4)) < 0.05)
    inputs = np.nonzero(rng.random((2000, 4)) < 0.05)
    labels = np.c_[np.full(2000, 3), np.full(2000, -1)]
    path = write_run(str(tmp_path / "one.h5"), phases, 4, 4, net, inputs, labels)
    entry = sa.analyze(path)["readout_labels"]
    (block,) = entry["blocks"]
    assert block["classes"] == [3] and block["n_fit"] == 50 and math.isnan(block["network"])
    assert "one class" in block["reason"] and "label 3" in block["reason"]
    assert entry["reason"] == block["reason"]
    proc = subprocess.run([PYTHON, os.path.join(TOOLS, "seqlearn-analyze"), path], capture_output=True, text=True)
    assert proc.returncode == 0 and "one class" in proc.stdout, proc.stderr


# --- speed ---------------------------------------------------------------------------------------


def test_sixty_seconds_of_xor_on_a_5x5_grid_analyses_in_seconds(tmp_path):
    """350 neurons at ~20 Hz and 100 inputs for 60 s (a 50 s fit phase, three 3 s score phases):
    the readouts must take seconds (a per-step loop over 60000 steps took minutes)."""
    rng = np.random.default_rng(5)
    phases = [("test", 50000, 0, "xor")] + [("test", 3000, 0, "xor")] * 3
    total, n_neurons, n_inputs = 59000, 350, 100
    labels = np.repeat(rng.integers(0, 2, (total // WINDOW + 1, 2)), WINDOW, axis=0)[:total].astype(np.int32)
    spikes = (rng.integers(0, total, 350 * 20 * 59), rng.integers(0, n_neurons, 350 * 20 * 59))
    inputs = (rng.integers(0, total, 100 * 10 * 59), rng.integers(0, n_inputs, 100 * 10 * 59))
    path = write_run(str(tmp_path / "big.h5"), phases, n_inputs, n_neurons, spikes, inputs, labels)
    start = time.perf_counter()
    result = sa.analyze(path)
    elapsed = time.perf_counter() - start
    assert result["readout_xor"]["n_fit"] == 1000 and result["readout_xor"]["n_score"] == 3 * 60
    assert elapsed < 30, elapsed


# --- the time-warp measure of warped test phases (issue 19) -----------------------------------


def warped_run(path, lengths, scaled=True):
    """One pattern test phase after a training phase: presentations of pattern 0 (nominal 100
    steps) of the given lengths, 200 noise steps apart. Neurons 0-2 fire in every presentation at
    fixed fractions (0.2, 0.5, 0.8) of its length when `scaled`, else at fixed latencies (20, 50,
    80 steps); neuron 3 fires at random in noise only."""
    rng = np.random.default_rng(4)
    starts, t = [], 200
    for n in lengths:
        starts.append(t)
        t += n + 200
    total_test = t
    phases = [("train", 100, 1, "pattern"), ("test", total_test, 0, "pattern")]
    pattern = np.full(100 + total_test, -1, np.int32)
    steps, ids = [], []
    for s, n in zip(starts, lengths):
        pattern[100 + s: 100 + s + n] = 0
        for k, frac in enumerate((0.2, 0.5, 0.8)):
            at = int(frac * n) if scaled else int(frac * 100)
            for d in (-1, 0, 1, 2):  # a few spikes around it (>= 5 per neuron in all: locked)
                steps.append(100 + s + at + d)
                ids.append(k)
    noise = rng.integers(100, 100 + total_test, 50)
    noise = noise[pattern[noise] < 0]
    steps += noise.tolist()
    ids += [3] * len(noise)
    return write_run(path, phases, 2, 4, (np.array(steps), np.array(ids)), (np.zeros(0), np.zeros(0)),
                     np.c_[pattern, np.full(len(pattern), -1)], sequence_id=np.where(pattern >= 0, 0, -1))


def test_warp_measure_tells_a_stretched_response_from_a_fixed_latency(tmp_path):
    lengths = [50, 80, 100, 150, 200, 120, 60]
    scaled = sa.analyze(warped_run(str(tmp_path / "scaled.h5"), lengths))["trained"]["warp"]
    assert scaled["presentations"] == len(lengths)
    assert (scaled["warp_min"], scaled["warp_max"]) == (0.5, 2.0)
    assert scaled["scaling_neurons"] == 3 and scaled["scaling_r"] > 0.99
    # at a fixed latency the mean spike time does not depend on the warp: nothing to correlate
    fixed = sa.analyze(warped_run(str(tmp_path / "fixed.h5"), lengths, scaled=False))["trained"]["warp"]
    assert fixed["scaling_neurons"] == 0 and math.isnan(fixed["scaling_r"])
    # unwarped presentations: no warp entry at all
    plain = sa.analyze(warped_run(str(tmp_path / "plain.h5"), [100] * 5))["trained"]
    assert plain["warp"] is None


def test_warp_scaling_correlates_warp_with_mean_spike_time():
    shown = [sa.Presentation(s, n, 0, 0) for s, n in ((0, 50), (100, 100), (300, 200))]
    # neuron 0 at half the length (scales), neuron 1 at 10, 20, 5 steps (r with 0.5, 1, 2 negative)
    steps = np.array([25, 10, 150, 120, 400, 305])
    ids = np.array([0, 1, 0, 1, 0, 1])
    r, n = sa.warp_scaling(steps, ids, shown, 100, np.array([0, 1]))
    expected = np.median([1.0, np.corrcoef([0.5, 1, 2], [10, 20, 5])[0, 1]])
    assert n == 2 and r == pytest.approx(expected, abs=1e-9)
    # a neuron seen in fewer than three presentations is left out
    r, n = sa.warp_scaling(steps[:4], ids[:4], shown, 100, np.array([0, 1]))
    assert n == 0 and math.isnan(r)


# --- the multi task's rate readouts (docs/model.md 11.6, issue 19) ------------------------------


def multi_run(path, phases, seed=2):
    """A multi-task run: 4 channels in 2 groups whose rates change every 100 steps (p 0.01-0.04
    a step); network neuron k copies channel k's spikes (so its state is the input state)."""
    rng = np.random.default_rng(seed)
    total = sum(p[1] for p in phases)
    rate = np.zeros((total, 4))
    start = 0
    for name, steps, learning, task in phases:
        for w in range(start, start + steps, 100):
            g = rng.uniform(0.01, 0.04, 2)
            rate[w:min(w + 100, start + steps)] = np.repeat(g, 2)
        start += steps
    steps, ids = bernoulli_spikes(rate, rng)
    return write_run(path, phases, 4, 4, (steps, ids), (steps, ids), np.full((total, 2), -1, np.int32),
                     config={"input.multi_groups": "2", "input.t_multi_window": "100", "input.task": "multi"})


def test_multi_rates_count_each_groups_spikes_in_the_last_tau(tmp_path):
    path = multi_run(str(tmp_path / "m.h5"), [("test", 1000, 0, "multi")])
    with sa.Run(path) as run:
        phase = run.phases[0]
        at = np.array([10, 30, 500, 999])
        got = sa.multi_rates(run, phase, at)
        steps, channels, _ = run.input_spikes(0, 1000)
        for i, t in enumerate(at):
            for g in range(2):
                n = np.sum((steps > t - 20) & (steps <= t) & (channels // 2 == g))
                assert got[i, g] == pytest.approx(n / 0.020)
        # fit phases sample every tau from tau/2, score phases every window from its middle
        assert list(sa.sample_steps(run, phase, "multi", "fit")[:3]) == [10, 30, 50]
        assert list(sa.sample_steps(run, phase, "multi", "score")[:3]) == [50, 150, 250]


def test_multi_readouts_fit_on_the_first_phase_and_score_on_the_others(tmp_path):
    phases = [("test", 20000, 0, "multi"), ("test", 3000, 0, "multi"), ("test", 3000, 0, "multi")]
    result = sa.analyze(multi_run(str(tmp_path / "m.h5"), phases))
    for target in sa.MULTI_TARGETS:
        readout = result["readout_" + target]
        assert readout is not None, target
        assert (readout["n_fit"], readout["n_score"]) == (1000, 60), target  # 20000/20; 2 x 3000/100
        # the network state is the input state here
        assert readout["network"] == pytest.approx(readout["input"], abs=1e-9), target
    # a group's rate over 20 ms is linear in the filtered state: well read out
    assert result["readout_rate_1"]["network"] > 0.5
    assert result["readout_pattern"] is None and result["readout_xor"] is None
    assert result["phase_task_counts"]["multi"] == 3
