"""Tests of the package python/seqlearn (reader, Neo) and of tools/seqlearn-sweep, on tiny
simulator runs (SEQLEARN_MPI, as CTest sets it): a normal, an interrupted and a restored run."""
import csv
import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

TOOLS = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, os.path.join(ROOT, "python"))
import seqlearn  # noqa: E402
import seqlearn.analysis as sa  # noqa: E402

PYTHON = "/usr/bin/python3"
BIN = os.environ.get("SEQLEARN_MPI")
needs_bin = pytest.mark.skipif(BIN is None, reason="set SEQLEARN_MPI to the simulator (CTest does)")
TINY = ["--network.grid", "3x3", "--threads", "1", "--record.neurons", "all"]
PROTOCOL = "train:1000,test:2000"


def simulate(out, *args):
    proc = subprocess.run([BIN, *TINY, "--output", str(out), *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return str(out)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A normal run (and its checkpoint), a run restored from that checkpoint, and an
    interrupted one (the normal run cut as SIGTERM would: /run says interrupted, the labels
    and spikes stop at last_step)."""
    if BIN is None:
        pytest.skip("set SEQLEARN_MPI to the simulator (CTest does)")
    d = tmp_path_factory.mktemp("runs")
    normal = simulate(d / "normal.h5", "--run.protocol", PROTOCOL, "--output.checkpoint_every_ms", "3000")
    restored = subprocess.run([BIN, "--restore", str(d / "normal.ckpt.h5"), "--threads", "1",
                               "--run.protocol", "test:2000", "--output", str(d / "restored.h5")],
                              capture_output=True, text=True)
    assert restored.returncode == 0, restored.stderr
    cut = 2100
    interrupted = str(d / "interrupted.h5")
    shutil.copy(normal, interrupted)
    with h5py.File(interrupted, "r+") as f:
        f["run"].attrs["interrupted"] = 1.0
        f["run"].attrs["last_step"] = float(cut)
        keep = f["spikes/step"][:] < cut
        for name in ("spikes/step", "spikes/neuron"):
            values = f[name][:][keep]
            units = f[name].attrs.get("units")
            del f[name]
            f[name] = values
            if units is not None:
                f[name].attrs["units"] = units
        for name in ("input/pattern_id", "input/sequence_id"):
            values = f[name][:cut]
            del f[name]
            f[name] = values
            f[name].attrs["first_step"] = 0
    return {"normal": normal, "restored": str(d / "restored.h5"), "interrupted": interrupted}


@needs_bin
def test_normal_run(runs):
    with seqlearn.open(runs["normal"]) as run:
        assert not run.interrupted and (run.first_step, run.last_step) == (0, 3000)
        assert [(p.name, p.first, p.last, p.learning) for p in run.phases] == [("train", 0, 999, True), ("test", 1000, 2999, False)]
        # typed config, UTF-8 text in the file, units
        assert run.config["neuron.dt"] == 1.0 and run.config["run.seed"] == 1 and run.config["network.grid"] == "3x3"
        assert isinstance(run.file["config"].attrs["network.grid"], str)
        assert run.config_units["neuron.dt"] == "ms" and run.config_units["plasticity.stp_D"] == "ms"
        assert run.units("network/stp/D") == "ms" and run.units("spikes/step") == "steps"
        assert run.file["run/units"].attrs["simulate_s"] == "s"
        # STP D in ms, as in the config (plasticity.stp_D = 110 ms is the neurons' mean)
        d_ms = run.stp()["D_ms"][run.n_inputs:]
        assert 20 < d_ms.mean() < 500
        times, steps = run.spike_times(), run.spike_steps()
        assert len(times) == run.n_neurons and sum(len(t) for t in times) == run.file["spikes/step"].shape[0]
        assert all(t.dtype == np.float64 for t in times) and all(s.dtype == np.int64 for s in steps)
        ids = run.spikes()[1]
        assert ids.dtype == np.int64 and np.bincount(ids, minlength=run.n_neurons).sum() == len(ids)
        assert len(run.input_spike_times()) == run.n_inputs
        table = run.presentation_table()
        assert len(table["pattern"]) >= 2 and set(table) >= {"pattern", "sequence", "start_step", "end_step", "start_ms", "end_ms"}
        assert np.all(table["end_ms"] > table["start_ms"]) and np.all(run.pattern_id(table["start_step"][0], table["end_step"][0]) == table["pattern"][0])


@needs_bin
def test_interrupted_run_is_cut_to_the_steps_that_ran(runs, tmp_path):
    with seqlearn.open(runs["interrupted"]) as run:
        assert run.interrupted and run.last_step == 2100
        assert [(p.first, p.steps, p.complete) for p in run.phases] == [(0, 1000, True), (1000, 1100, False)]
        assert all(p.end <= 2100 for p in run.presentations(1000, 2100))
        assert run.presentation_table()["end_step"].max() <= 2100
        assert run.spikes()[0].max() < 2100
    out = tmp_path / "a.json"
    proc = subprocess.run([PYTHON, os.path.join(TOOLS, "seqlearn-analyze"), runs["interrupted"], "--json", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "NaN" not in out.read_text()
    result = json.loads(out.read_text())
    assert result["interrupted"] is True and result["config"]["network.grid"] == "3x3"


@needs_bin
def test_restored_run(runs):
    with seqlearn.open(runs["restored"]) as run:
        assert run.first_step == 3000 and run.last_step == 5000
        assert [(p.first, p.steps) for p in run.phases] == [(3000, 2000)]
        steps = run.spike_steps()
        assert min(s.min() for s in steps if len(s)) >= 3000
        table = run.presentation_table()
        assert len(table["start_step"]) > 0 and table["start_step"].min() >= 3000
        block = run.to_neo(inputs=False)
        assert float(block.segments[0].t_start.rescale("ms")) == 3000.0


@needs_bin
def test_neo_block(runs):
    neo = pytest.importorskip("neo")
    with seqlearn.open(runs["normal"]) as run:
        block = run.to_neo()
        table = run.presentation_table()
        assert isinstance(block, neo.Block) and len(block.segments) == len(run.phases) == 2
        for segment, phase in zip(block.segments, run.phases):
            trains = segment.spiketrains
            assert len(trains) == run.n_neurons + run.n_inputs
            neurons = [t for t in trains if t.annotations["source"] == "neuron"]
            assert [t.annotations["neuron_id"] for t in neurons] == list(range(run.n_neurons))
            assert all(t.annotations["circuit"] == c for t, c in zip(neurons, run.circuit_of()))
            assert all(str(t.units.dimensionality) == "ms" for t in trains)
            assert float(trains[0].t_start) == phase.first * run.dt_ms and float(trains[0].t_stop) == phase.end * run.dt_ms
            assert sum(len(t) for t in neurons) == len(run.spikes(phase.first, phase.end)[0])
            (epoch,) = segment.epochs
            assert len(epoch) == np.count_nonzero(table["phase"] == phase.index)
            assert str(epoch.units.dimensionality) == "ms"
            assert all(label.startswith("pattern ") for label in epoch.labels)
        assert len(block.segments[1].epochs[0]) >= 1
        assert block.annotations["config"]["network.grid"] == "3x3"


def test_jsonable_has_no_nan():
    data = {"a": float("nan"), "b": [np.float64("inf"), 1.5, np.int64(3)], "c": {"d": None}}
    text = json.dumps(sa.jsonable(data), allow_nan=False)
    assert json.loads(text) == {"a": None, "b": [None, 1.5, 3], "c": {"d": None}}


def sweep(*args, env=None):
    return subprocess.run([PYTHON, os.path.join(TOOLS, "seqlearn-sweep"), *args], capture_output=True, text=True,
                          env={**os.environ, "SEQLEARN_BIN": BIN or "", **(env or {})})


@needs_bin
def test_sweep_local_and_collect(tmp_path):
    out = tmp_path / "sweep"
    args = ["--param", "plasticity.learning_rate=0.05,0.1", "--param", "run.seed=1,2", "--out", str(out), "--threads", "1",
            "--", "--network.grid", "3x3", "--run.protocol", "train:200,test:200", "--record.neurons", "all"]
    proc = sweep(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = sorted(p.name for p in out.glob("*.h5"))
    assert names == [f"plasticity.learning_rate={lr},run.seed={s}.h5" for lr in ("0.05", "0.1") for s in (1, 2)]
    with seqlearn.open(str(out / names[3])) as run:
        assert run.config["plasticity.learning_rate"] == 0.1 and run.config["run.seed"] == 2
    # existing outputs: refused without --overwrite
    again = sweep(*args)
    assert again.returncode == 2 and "exist" in again.stderr
    proc = sweep("--collect", str(out))
    assert proc.returncode == 0, proc.stderr
    with open(out / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4
    header = list(rows[0])
    assert header[:3] == ["point", "plasticity.learning_rate", "run.seed"]
    assert "trained.locking.locked_fraction" in header
    assert {(r["plasticity.learning_rate"], r["run.seed"]) for r in rows} == {("0.05", "1"), ("0.05", "2"), ("0.1", "1"), ("0.1", "2")}
    data = json.loads((out / (names[0][:-3] + ".analysis.json")).read_text())
    assert data["config"]["plasticity.learning_rate"] == 0.05


@needs_bin
def test_sweep_slurm_dry_run(tmp_path):
    out = tmp_path / "s"
    proc = sweep("--param", "plasticity.learning_rate=0.05,0.1,0.2", "--param", "run.seed=1,2", "--out", str(out),
                 "--ranks", "2", "--threads", "4", "--slurm", "--dry-run", "--", "--run.protocol", "train:200,test:200")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# sbatch ")
    script = (out / "sweep.sbatch").read_text()
    assert "#SBATCH --array=0-5" in script and "#SBATCH --ntasks=2" in script and "#SBATCH --cpus-per-task=4" in script
    assert "jobs/lib.sh" in script and script.count("--plasticity.learning_rate") == 6
    assert f"{out}/plasticity.learning_rate=0.2,run.seed=2.h5" in script
    assert not list(out.glob("*.h5"))
    syntax = subprocess.run(["bash", "-n", str(out / "sweep.sbatch")], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    # the array task's arguments, as the script expands them
    expand = subprocess.run(["bash", "-c", f'eval "$(sed -n "/^points=(/,/^)/p" {out}/sweep.sbatch)"; task=5; '
                             'eval "args=(${points[task]})"; printf "%s\\n" "${args[@]}"'],
                            capture_output=True, text=True)
    assert expand.stdout.split("\n")[:6] == ["--run.protocol", "train:200,test:200", "--plasticity.learning_rate", "0.2", "--run.seed", "2"]


@needs_bin
@pytest.mark.parametrize("bad, message", [
    (["--param", "plasticity.learning_rate"], "KEY=V1"),
    (["--param", "plasticity.learning_rate=0.1,,0.2"], "empty value"),
    (["--param", "plasticity.no_such_key=1,2"], "unknown key"),
    (["--param", "run.seed=1,2", "--param", "run.seed=3"], "swept twice"),
])
def test_sweep_refuses(tmp_path, bad, message):
    proc = sweep(*bad, "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert not (tmp_path / "x").exists()
