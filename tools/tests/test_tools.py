"""Tests of tools/: synthetic output files with known answers (written here with h5py,
following docs/output.md), and one file made by the simulator."""
import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

TOOLS = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(TOOLS), "python"))
import seqlearn.analysis as sa  # noqa: E402
import seqlearn.reader  # noqa: E402

PYTHON = "/usr/bin/python3"
N_INPUTS = 8
N_NEURONS = 6
LOCKED_OFFSETS = {0: 10, 1: 30, 2: 50, 3: 70}  # neuron -> burst start within a presentation
PHASES = [("test", 3000, 0), ("train", 1000, 1), ("test", 3000, 0), ("test", 3000, 0)]
PERIOD, LENGTH = 500, 100  # a 100-step presentation every 500 steps, from step 200


def make_run(path, seed=1):
    """Two circuits of three neurons; neurons 0-3 fire a 5-step burst at a fixed offset in every
    presentation after training, neurons 4 and 5 fire at random; inputs are pure noise."""
    rng = np.random.default_rng(seed)
    total = sum(p[1] for p in PHASES)
    pattern_id = np.full(total, -1, np.int32)
    for start in range(200, total - LENGTH, PERIOD):
        pattern_id[start : start + LENGTH] = 0
    trained_from = PHASES[0][1] + PHASES[1][1]
    steps, neurons = [], []
    for n in range(N_NEURONS):
        random_steps = np.flatnonzero(rng.random(total) < 0.01)
        if n in LOCKED_OFFSETS:
            random_steps = random_steps[random_steps < trained_from]
            for start in range(200, total - LENGTH, PERIOD):
                if start >= trained_from:
                    burst = start + LOCKED_OFFSETS[n] + np.arange(5)
                    random_steps = np.r_[random_steps, burst]
        s = np.unique(random_steps)
        steps.append(s)
        neurons.append(np.full(len(s), n))
    in_steps = np.flatnonzero(rng.random(total * N_INPUTS) < 0.005)
    with h5py.File(path, "w") as f:
        c = f.create_group("config")
        for key, value in {"neuron.dt": "1", "input.n_patterns": "1", "input.t_pattern": str(LENGTH),
                           "input.pattern_sequences": "0", "run.seed": str(seed)}.items():
            c.attrs[key] = np.bytes_(value)
        net = f.create_group("network")
        for key, value in {"n_neurons": N_NEURONS, "n_inputs": N_INPUTS, "n_circuits": 2, "rows": 1, "cols": 2}.items():
            net.attrs[key] = value
        net["circuit_size"] = np.array([3, 3], np.int32)
        net["circuit_of"] = np.array([0, 0, 0, 1, 1, 1], np.uint32)
        f["spikes/step"] = np.concatenate(steps).astype(np.int64)
        f["spikes/neuron"] = np.concatenate(neurons).astype(np.uint64)
        f["input/spikes/step"] = (in_steps // N_INPUTS).astype(np.int64)
        f["input/spikes/channel"] = (in_steps % N_INPUTS).astype(np.uint32)
        f["input/spikes/from_pattern"] = np.zeros(len(in_steps), np.uint8)
        f["input/pattern_id"] = pattern_id
        f["input/sequence_id"] = np.where(pattern_id >= 0, 0, -1).astype(np.int32)
        first = np.cumsum([0] + [p[1] for p in PHASES])[:-1]
        f["phases/name"] = np.array([p[0] for p in PHASES], dtype="S5")
        f["phases/first_step"] = first.astype(np.int64)
        f["phases/steps"] = np.array([p[1] for p in PHASES], np.int64)
        f["phases/learning"] = np.array([p[2] for p in PHASES], np.uint8)
        t = f.create_group("traces")
        t["step"] = np.zeros(0, np.int64)
        t["neuron"] = np.zeros(0, np.uint64)
    return path


@pytest.fixture
def synthetic(tmp_path):
    return make_run(str(tmp_path / "synthetic.h5"))


def test_presentations_and_phases(synthetic):
    with sa.Run(synthetic) as run:
        untrained, trained = run.test_phases()
        assert [p.index for p in untrained] == [0]
        assert [p.index for p in trained] == [2, 3]
        pres = run.presentations(run.phases[2].first, run.phases[2].end)
        assert len(pres) == 6
        assert all(p.length == LENGTH and p.pattern == 0 for p in pres)
        assert all((p.start - 200) % PERIOD == 0 for p in pres)


def test_chunked_reads_give_the_same_spikes(synthetic, monkeypatch):
    with sa.Run(synthetic) as run:
        whole = run.spikes(1000, 7000)
        monkeypatch.setattr(seqlearn.reader, "CHUNK", 7)
        chunked = run.spikes(1000, 7000)
        subset = run.spikes(1000, 7000, np.array([1, 4]))
    assert np.array_equal(whole[0], chunked[0]) and np.array_equal(whole[1], chunked[1])
    assert set(subset[1]) <= {1, 4} and np.all(np.diff(subset[0]) >= 0)


def test_activation_order_and_locking(synthetic):
    with sa.Run(synthetic) as run:
        _, trained = run.test_phases()
        phase = trained[0]
        steps, ids = run.spikes(phase.first, phase.end)
        i, ph = sa.spike_phases(steps, ids, run.presentations(phase.first, phase.end))
        mean_phase, strength, count, p_value, _ = sa.phase_locking(i, ph, run.n_neurons)
        order = sa.activation_order(mean_phase, count, p_value)
        assert list(order[:4]) == [0, 1, 2, 3]
        assert sa.locked(count, p_value)[:4].all() and not sa.locked(count, p_value)[4:].any()
        assert np.allclose(strength[:4], 1.0, atol=0.02)
        trained_lock = sa.locking_summary(run, trained)
        untrained_lock = sa.locking_summary(run, run.test_phases()[0])
    assert trained_lock["locked_neurons"] == 4
    assert untrained_lock["locked_neurons"] == 0


def test_reproducibility_and_readouts(synthetic):
    result = sa.analyze(synthetic)
    trained, untrained = result["trained"], result["untrained"]
    # Identical bursts in every presentation: perfect reproducibility for the 4 bursting neurons.
    assert trained["reproducibility"]["neurons_reaching_threshold"] == 4
    assert trained["reproducibility"]["mean_correlation"] == pytest.approx(1.0, abs=1e-9)
    assert untrained["reproducibility"]["neurons_reaching_threshold"] == 0
    # The network carries the pattern, the (pure noise) input does not. An old file (1-D labels,
    # no /phases/task): every phase is a pattern phase. Block 0 (phase 0, before training) is
    # split in halves (75 fit samples), block 1 fits on phase 2 and scores on phase 3; both fit
    # on 75 samples.
    readout = result["readout_pattern"]
    assert readout["network"] > 0.6
    assert abs(readout["input"]) < 0.3
    assert readout["network"] > readout["before"]["network"] + 0.4
    assert [(b["fit_phase"], b["score_phases"], b["split"]) for b in readout["blocks"]] == [(0, [0], True), (2, [3], False)]
    assert readout["n_fit_available"] == [75, 150] and readout["fit_samples_equalised"]
    assert [b["n_fit"] for b in readout["blocks"]] == [75, 75] and readout["n_score"] == 150
    assert result["readout_xor"] is None and result["readout_labels"] is None


def test_filtered_state_matches_model_8():
    steps = np.array([0, 0, 3])
    ids = np.array([1, 0, 1])
    x, at = sa.filtered_state(steps, ids, 2, 0, 4, dt_ms=1.0, tau_ms=20.0, sample_ms=1.0)
    assert list(at) == [0, 1, 2, 3]
    assert x[:, 1] == pytest.approx([1, 0.95, 0.9025, 0.857375 + 1])
    assert x[:, 0] == pytest.approx([1, 0.95, 0.9025, 0.857375])


def run_tool(name, *args):
    return subprocess.run([PYTHON, os.path.join(TOOLS, name), *args], capture_output=True, text=True)


def test_analyze_cli_writes_json(synthetic, tmp_path):
    out = tmp_path / "a.json"
    proc = run_tool("seqlearn-analyze", synthetic, "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "trained" in proc.stdout
    data = json.loads(out.read_text())
    assert data["trained"]["locking"]["locked_neurons"] == 4
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    assert run_tool("seqlearn-analyze", str(bad)).returncode == 2
    assert run_tool("seqlearn-analyze", str(tmp_path / "missing.h5")).returncode == 2


def test_plot_cli_writes_pictures(synthetic, tmp_path):
    out = tmp_path / "figs"
    proc = run_tool("seqlearn-plot", synthetic, "--out", str(out), "--pdf")
    assert proc.returncode == 0, proc.stderr
    for name in ("raster_phase0_test", "raster_phase3_test", "grid_K", "grid_K_3d"):
        assert (out / f"{name}.png").stat().st_size > 5000
        assert (out / f"{name}.pdf").exists()
    assert run_tool("seqlearn-plot", synthetic, "--phase", "9").returncode == 2


@pytest.mark.skipif("SEQLEARN_MPI" not in os.environ, reason="set SEQLEARN_MPI to the simulator (CTest does)")
def test_tools_on_a_simulator_run(tmp_path):
    out = tmp_path / "run.h5"
    proc = subprocess.run([os.environ["SEQLEARN_MPI"], "--network.grid", "3x3", "--threads", "1",
                           "--run.protocol", "test:2000,train:8000,test:2000,test:2000",
                           "--record.dt_rec", "50", "--output", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    proc = run_tool("seqlearn-analyze", str(out), "--json", "-")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert result["n_neurons"] > 9
    assert result["untrained"]["phases"] == [0] and result["trained"]["phases"] == [2, 3]
    assert 0.0 <= result["trained"]["locking"]["locked_fraction"] <= 1.0
    proc = run_tool("seqlearn-plot", str(out), "--out", str(tmp_path / "figs"))
    assert proc.returncode == 0, proc.stderr
    for name in ("raster_phase0_test", "raster_phase3_test", "grid_K", "traces", "weights_hist"):
        assert (tmp_path / "figs" / f"{name}.png").exists(), name


def test_winner_dwell_counts_runs_of_one_neuron(tmp_path):
    path = make_run(str(tmp_path / "dwell.h5"))
    with h5py.File(path, "r+") as f:  # circuit 0: neuron 0 at 0,1,2 then neuron 1 at 5; circuit 1: neuron 3 at 4
        del f["spikes/step"], f["spikes/neuron"]
        f["spikes/step"] = np.array([0, 1, 2, 5, 4], np.int64)
        f["spikes/neuron"] = np.array([0, 0, 0, 1, 3], np.uint64)
    with sa.Run(path) as run:
        result = sa.winner_dwell(run, [run.phases[0]])
    # runs: (0: 3 spikes over 3 ms), (1: 1 spike, 1 ms), (3: 1 spike, 1 ms); spike-weighted
    assert result["mean_dwell_ms"] == pytest.approx((3 * 3 + 1 + 1) / 5)
    assert result["mean_spikes_per_run"] == pytest.approx((3 * 3 + 1 + 1) / 5)


def cut_run(path, first_step=0, last_step=None, interrupted=False):
    """make_run's file as a run would write it that covered only [first_step, last_step): a run
    restored at first_step (labels start there, /phases lists its phases only), or stopped by
    SIGTERM at last_step (/phases still lists the whole protocol; /run.interrupted = 1)."""
    make_run(path)
    total = sum(p[1] for p in PHASES)
    last_step = total if last_step is None else last_step
    with h5py.File(path, "r+") as f:
        steps, neurons = f["spikes/step"][()], f["spikes/neuron"][()]
        keep = (steps >= first_step) & (steps < last_step)
        labels = {name: f["input/" + name][first_step:last_step] for name in ("pattern_id", "sequence_id")}
        for name in ("spikes/step", "spikes/neuron", "input/pattern_id", "input/sequence_id"):
            del f[name]
        f["spikes/step"], f["spikes/neuron"] = steps[keep], neurons[keep]
        for name, values in labels.items():
            f["input/" + name] = values
            f["input/" + name].attrs["first_step"] = np.int64(first_step)
        if first_step > 0:  # the restored run's own phases
            first, kept = f["phases/first_step"][()], f["phases/first_step"][()] >= first_step
            columns = {name: f["phases/" + name][()][kept] for name in ("name", "first_step", "steps", "learning")}
            for name, values in columns.items():
                del f["phases/" + name]
                f["phases/" + name] = values
        run = f.create_group("run")
        run.attrs["first_step"] = float(first_step)
        run.attrs["last_step"] = float(last_step)
        run.attrs["interrupted"] = 1.0 if interrupted else 0.0
        f["traces/u"] = np.zeros((0, 0))  # nothing traced (read by docs/output.md's recipe)
    return path


def test_interrupted_run_is_analysed_up_to_its_last_step(tmp_path):
    # Stopped at 5500: phase 2 (test, from 4000) cut to 1500 steps, phase 3 never ran.
    path = cut_run(str(tmp_path / "cut.h5"), last_step=5500, interrupted=True)
    with sa.Run(path) as run:
        assert run.interrupted and run.last_step == 5500
        assert [(p.index, p.first, p.steps) for p in run.phases] == [(0, 0, 3000), (1, 3000, 1000), (2, 4000, 1500)]
        assert [p.index for p in run.test_phases()[1]] == [2]
    proc = run_tool("seqlearn-analyze", path, "--json", "-")
    assert proc.returncode == 0, proc.stderr
    assert "interrupted" in proc.stderr
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert result["interrupted"] and result["last_step"] == 5500
    assert result["trained"]["phases"] == [2] and result["trained"]["locking"]["locked_neurons"] == 4
    proc = run_tool("seqlearn-plot", path, "--out", str(tmp_path / "figs"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "figs" / "raster_phase2_test.png").exists()
    assert not (tmp_path / "figs" / "raster_phase3_test.png").exists()


def test_restored_run_labels_start_at_first_step(tmp_path):
    path = cut_run(str(tmp_path / "restored.h5"), first_step=3000)
    with sa.Run(path) as run:
        assert run.first_step == 3000 and [p.index for p in run.phases] == [0, 1, 2]
        pres = run.presentations(4000, 7000)
        assert len(pres) == 6 and all((p.start - 200) % PERIOD == 0 for p in pres)
    proc = run_tool("seqlearn-analyze", path, "--json", "-")
    assert proc.returncode == 0, proc.stderr


def test_output_doc_recipe_runs_on_a_restored_file(tmp_path):
    """docs/output.md 'Reading it' as written, on a file whose labels start at step 3000."""
    path = cut_run(str(tmp_path / "restored.h5"), first_step=3000, last_step=9000)
    doc = open(os.path.join(TOOLS, "..", "docs", "output.md")).read()
    recipe = doc[doc.index("## Reading it (h5py"):].split("```python\n", 1)[1].split("```", 1)[0]
    assert '"results/default.h5"' in recipe
    exec(compile(recipe.replace('"results/default.h5"', repr(path)), "docs/output.md", "exec"), {})


@pytest.mark.skipif("SEQLEARN_MPI" not in os.environ, reason="set SEQLEARN_MPI to the simulator (CTest does)")
def test_tools_on_a_run_stopped_by_sigterm(tmp_path):
    """issue 9 D21: SIGTERM during training; /phases lists the test phase that never ran."""
    out = tmp_path / "stopped.h5"
    proc = subprocess.Popen([os.environ["SEQLEARN_MPI"], "--network.grid", "3x3", "--threads", "1",
                             "--run.protocol", "test:2000,train:2000000,test:2000", "--record.dt_rec", "50",
                             "--output", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # inside the training phase (about 2000 s of model time left)
    assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    with h5py.File(out) as f:
        assert f["run"].attrs["interrupted"] == 1 and len(f["phases/name"]) == 3
    proc = run_tool("seqlearn-analyze", str(out), "--json", "-")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert result["interrupted"] and result["trained"] is None
    proc = run_tool("seqlearn-plot", str(out), "--out", str(tmp_path / "figs"))
    assert proc.returncode == 0, proc.stderr


def test_plot_refuses_what_is_not_an_output_cleanly(tmp_path):
    """Hostile test: an empty file or a checkpoint gave a traceback (rc 1)."""
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    not_output = tmp_path / "other.h5"
    with h5py.File(not_output, "w") as f:
        f.create_group("checkpoint")
    for path in (empty, not_output):
        proc = run_tool("seqlearn-plot", str(path), "--out", str(tmp_path / "figures"))
        assert proc.returncode == 2, proc.stderr
        assert "not a seqlearn output file" in proc.stderr and "Traceback" not in proc.stderr
        assert not (tmp_path / "figures").exists()
