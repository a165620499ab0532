"""seqlearn.run / restore / write_input (issue 17) against the real program (SEQLEARN_MPI),
and their hostile cases (odd paths, hostile overrides)."""
import _thread
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

import h5py
import numpy as np
import pytest

TOOLS = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(TOOLS), "python"))
import seqlearn  # noqa: E402
from seqlearn import runner  # noqa: E402
import seqlearn.analysis as sa  # noqa: E402

PROGRAM = os.environ.get("SEQLEARN_MPI") or os.environ.get("SEQLEARN_BIN") or \
    os.path.join(os.path.dirname(TOOLS), "build", "release", "seqlearn_mpi")
needs_program = pytest.mark.skipif(not (os.access(PROGRAM, os.X_OK) and shutil.which("mpirun")),
                                   reason="no seqlearn_mpi (SEQLEARN_MPI) or mpirun")
TINY = {"network.grid": "3x3", "run.protocol": "train:100"}


def tiny_input(path, n_inputs=10, steps=400, **kw):
    """Channel c spikes at step t when (t + c) % 10 == 0; labels 0/1 in 100-step epochs."""
    t = np.arange(steps)
    st, ch = [], []
    for step in t:
        for c in range(n_inputs):
            if (step + c) % 10 == 0:
                st.append(step)
                ch.append(c)
    labels = (t // 100) % 2
    return seqlearn.write_input(path, st, ch, labels, dt=1.0, **kw)


# --- write_input ------------------------------------------------------------------------------


def test_write_input_layout(tmp_path):
    path = tiny_input(tmp_path / "in.h5")
    with h5py.File(path) as f:
        assert f["spikes/step"].dtype == np.int64 and f["spikes/channel"].dtype == np.int64
        assert f["labels"].shape == (400,) and f.attrs["n_steps"] == 400 and f.attrs["dt"] == 1.0
        assert np.all(np.diff(f["spikes/step"][:]) >= 0)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".partial")]


@pytest.mark.parametrize("kwargs, match", [
    ({"steps": [0, 1], "channels": [0]}, "differ in length"),
    ({"steps": [0, -1], "channels": [0, 1]}, "must be >= 0"),
    ({"steps": [3, 1], "channels": [0, 1]}, "ascending"),
    ({"steps": [0.5], "channels": [0]}, "integers"),
    ({"steps": [1.0], "channels": [0]}, "astype"),
    ({"steps": [True], "channels": [0]}, "integers"),
    ({"steps": [0], "channels": [-2]}, "channels"),
    ({"steps": [0], "channels": [5], "n_inputs": 5}, "outside"),
    ({"steps": [5], "channels": [0], "labels": [0, 1]}, "beyond"),
    ({"steps": [0], "channels": [0], "labels": [-2]}, "labels"),
    ({"steps": [0], "channels": [0], "labels": [2**31]}, "labels"),
    ({"steps": [0], "channels": [0], "labels": [0, 1], "n_steps": 3}, "n_steps"),
    ({"steps": [], "channels": []}, "no spikes"),
    ({"steps": [[0]], "channels": [[0]]}, "1-D"),
    ({"steps": [0], "channels": [0], "dt": float("nan")}, "dt"),
    ({"steps": [0], "channels": [0], "dt": 0}, "dt"),
    ({"steps": [0], "channels": [0], "n_steps": 0}, "n_steps"),
    ({"steps": ["a"], "channels": [0]}, "integers"),
])
def test_write_input_refuses(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        seqlearn.write_input(tmp_path / "x.h5", **kwargs)
    assert os.listdir(tmp_path) == []


def test_write_input_never_follows_or_replaces_special_files(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "link.h5"
    link.symlink_to(victim)
    dangling = tmp_path / "dangling.h5"
    dangling.symlink_to(tmp_path / "nowhere.h5")
    fifo = tmp_path / "fifo.h5"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.h5"
    folder.mkdir()
    for target in (link, dangling, fifo, folder):
        for overwrite in (False, True):
            with pytest.raises(FileExistsError):
                tiny_input(target, overwrite=overwrite)
    assert victim.read_text() == "precious" and not (tmp_path / "nowhere.h5").exists()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.path.islink(link)
    with pytest.raises(FileExistsError):  # /dev/null: a device, even with overwrite
        seqlearn.write_input("/dev/null", [0], [0], overwrite=True)
    regular = tmp_path / "r.h5"
    regular.write_text("old")
    with pytest.raises(FileExistsError):
        tiny_input(regular)
    assert regular.read_text() == "old"
    tiny_input(regular, overwrite=True)
    assert h5py.is_hdf5(regular)
    assert sorted(os.listdir(tmp_path)) == sorted(["victim.txt", "link.h5", "dangling.h5", "fifo.h5",
                                                   "folder.h5", "r.h5"])  # no temporary left


# --- run: argument checks (no program needed) ----------------------------------------------------


@pytest.mark.parametrize("overrides, error", [
    ({"network.grid=2x2": "3x3"}, ValueError),
    ({"-network.grid": "3x3"}, ValueError),
    ({"--output": "x.h5"}, ValueError),
    ({"output": "x.h5"}, ValueError),
    ({"output.file": "x.h5"}, ValueError),
    ({"threads": 2}, ValueError),
    ({"restore": "c.h5"}, ValueError),
    ({"network grid": "3x3"}, ValueError),
    ({"": "3x3"}, ValueError),
    ({"network.grid\n--overwrite": "3x3"}, ValueError),
    ({1: "3x3"}, ValueError),
    ({"network.grid": "3x3\0"}, ValueError),
    (["network.grid", "3x3"], TypeError),
])
def test_run_refuses_hostile_overrides(tmp_path, overrides, error):
    with pytest.raises(error):
        seqlearn.run(tmp_path / "o.h5", overrides=overrides, program=sys.executable)
    assert os.listdir(tmp_path) == []


def test_arguments_form():
    args = runner._arguments({"a.b": True, "c.d": -3, "e.f": "", "g.h": (0.5, 2), "i.j": "x y; rm -rf /"})
    assert args == ["--a.b", "true", "--c.d=-3", "--e.f", "", "--g.h", "0.5,2", "--i.j", "x y; rm -rf /"]


def test_launch_line(monkeypatch):
    monkeypatch.setenv("SEQLEARN_CORES", "4")
    monkeypatch.setenv("OMP_WAIT_POLICY", "passive")
    argv, env, t = runner.launch_command(2, 2)
    assert argv[1:] == ["-n", "2", "--map-by", "slot:PE=2", "--bind-to", "core"]
    assert env["OMP_PROC_BIND"] == "close" and env["OMP_PLACES"] == "cores" and "OMP_WAIT_POLICY" not in env
    argv, env, t = runner.launch_command(4, 2)
    assert argv[1:] == ["-n", "4", "--oversubscribe", "--bind-to", "none"]
    assert env["OMP_PROC_BIND"] == "false" and env["OMP_WAIT_POLICY"] == "passive" and "OMP_PLACES" not in env
    assert runner.launch_command(3, 0)[2] == 1 and runner.launch_command(1, 0)[2] == 4
    for bad in (0, -1, True, 1.5, "2"):
        with pytest.raises(ValueError):
            runner.launch_command(bad, 1)
    for bad in ("$(touch PWNED)", "0", "1e3", " 2", "99999999999999999999"):
        monkeypatch.setenv("SEQLEARN_CORES", bad)
        with pytest.raises(ValueError):
            runner.launch_command(1, 1)
    monkeypatch.setenv("SEQLEARN_CORES", "010")  # as launch.sh reads it: 10, not octal
    assert runner.launch_command(1, 0)[2] == 10


def test_find_program(tmp_path, monkeypatch):
    monkeypatch.delenv("SEQLEARN_BIN", raising=False)
    with pytest.raises(FileNotFoundError):
        seqlearn.find_program(tmp_path / "missing")
    with pytest.raises(FileNotFoundError):
        seqlearn.find_program(tmp_path)  # a folder
    plain = tmp_path / "-not-executable"
    plain.write_text("")
    with pytest.raises(FileNotFoundError):
        seqlearn.find_program(plain)
    monkeypatch.setenv("SEQLEARN_BIN", str(plain))
    with pytest.raises(FileNotFoundError, match="SEQLEARN_BIN"):
        seqlearn.find_program()
    os.chmod(plain, 0o755)
    assert seqlearn.find_program() == str(plain)  # absolute: never read as an mpirun option
    monkeypatch.delenv("SEQLEARN_BIN")
    monkeypatch.setenv("PATH", str(tmp_path))
    (tmp_path / "seqlearn_mpi").write_text("")
    os.chmod(tmp_path / "seqlearn_mpi", 0o755)
    assert seqlearn.find_program() == str(tmp_path / "seqlearn_mpi")


def test_run_refuses_existing_output(tmp_path):
    out = tmp_path / "o.h5"
    out.write_text("keep")
    with pytest.raises(FileExistsError):
        seqlearn.run(out, overrides=TINY, program=sys.executable)
    fifo = tmp_path / "f.h5"
    os.mkfifo(fifo)
    link = tmp_path / "l.h5"
    link.symlink_to(out)
    for target in (fifo, link, "/dev/null"):
        with pytest.raises(FileExistsError, match="only a regular file"):
            seqlearn.run(target, overrides=TINY, program=sys.executable, overwrite=True)
    assert out.read_text() == "keep"
    with pytest.raises(FileNotFoundError):
        seqlearn.run(tmp_path / "p.h5", config=tmp_path, program=sys.executable)
    with pytest.raises(FileNotFoundError):
        seqlearn.restore(fifo, tmp_path / "p.h5", program=sys.executable)


# --- run against the program ---------------------------------------------------------------------


@needs_program
@pytest.mark.parametrize("ranks", [1, 2])
def test_run_file_task(tmp_path, ranks):
    """Done-when of issue 17: write_input, then run(..., ranks=2, file task) has spikes."""
    folder = tmp_path / "odd dir\nwith newline"
    folder.mkdir()
    path = tiny_input(folder / "-in put.h5")
    lines = []
    run = seqlearn.run(folder / "-out put.h5", ranks=ranks, program=PROGRAM, progress=lines.append,
                       overrides={"network.grid": "3x3", "input.task": "file", "input.file": path,
                                  "network.n_inputs": 10, "run.protocol": "train:200:file"})
    with run:
        steps, ids = run.spikes()
        assert len(steps) > 0 and run.config["n_ranks"] == ranks
        assert run.config["input.file"] == os.path.abspath(path) or run.config["input.file"] == str(path)
        assert len(run.label_epochs()) == 2 and run.input_spikes()[0].size > 0
    assert any(line.startswith("output written to") for line in lines)


@needs_program
def test_run_error_carries_message_and_code(tmp_path):
    with pytest.raises(seqlearn.RunError) as e:
        seqlearn.run(tmp_path / "o.h5", ranks=2, program=PROGRAM, progress=False,
                     overrides={"network.gird": "3x3"})
    assert e.value.returncode == 2
    assert e.value.message.startswith("seqlearn_mpi: error: unknown key") and "network.gird" in e.value.message
    assert not (tmp_path / "o.h5").exists()
    with pytest.raises(seqlearn.RunError) as e:  # a hostile value is one argument, refused by the program
        seqlearn.run(tmp_path / "o.h5", program=PROGRAM, progress=False,
                     overrides={"network.grid": "3x3 --overwrite", "run.protocol": "-train:100"})
    assert e.value.returncode == 2 and "network.grid" in e.value.message
    assert os.listdir(tmp_path) == []


def interrupt_after(seconds):
    def hook(proc):
        threading.Timer(seconds, _thread.interrupt_main).start()
    runner._set_on_start(hook)


@needs_program
@pytest.mark.parametrize("ranks", [1, 2])
def test_keyboard_interrupt_checkpoints_and_restores(tmp_path, ranks):
    """Ctrl-C: SIGUSR2 to mpirun, the ranks checkpoint, exit 3, RunInterrupted; restore goes on."""
    out = tmp_path / "o.h5"
    interrupt_after(1.0)
    with pytest.raises(KeyboardInterrupt) as e:
        seqlearn.run(out, ranks=ranks, program=PROGRAM, progress=False,
                     overrides={"network.grid": "3x3", "run.protocol": "train:5000000,test:100"})
    stop = e.value
    assert isinstance(stop, seqlearn.RunInterrupted) and stop.returncode == 3
    assert stop.checkpoint == str(tmp_path / "o.ckpt.h5") and os.path.isfile(stop.checkpoint)
    assert stop.output == str(out)
    with seqlearn.open(out) as first:
        assert first.interrupted and 0 < first.last_step < 5000000
        stopped_at = first.last_step
    with seqlearn.restore(stop.checkpoint, tmp_path / "more.h5", ranks=3 - ranks, program=PROGRAM, progress=False,
                          overrides={"run.protocol": "test:100"}) as more:
        assert more.first_step == stopped_at and more.last_step == stopped_at + 100
        assert len(more.spikes()[0]) > 0
        # issue 17 item 3: the block after the restore counts the training before the checkpoint
        assert more.info["prior_learning_steps"] == stopped_at
        blocks = sa.readout_blocks(more)
        assert blocks[0]["trained_ms"] == stopped_at * more.dt_ms and not blocks[0]["before"]
        assert sa.trained_label(blocks[0]) == f"after {stopped_at * more.dt_ms / 1000:g} s"
    # a restored file without the record (the program's own output today): a lower bound, said so
    with h5py.File(tmp_path / "more.h5", "r+") as f:
        del f["run"].attrs["prior_learning_steps"]
    with seqlearn.open(tmp_path / "more.h5") as more:
        assert sa.prior_learning_steps(more) is None
        block = sa.readout_blocks(more)[0]
        assert block["trained_ms_before_file"] is None and not block["before"]
        assert sa.trained_label(block) == "after >=0 s"


@needs_program
def test_keyboard_interrupt_at_once_waits_for_the_ranks(tmp_path):
    """Issue 18 D10: a Ctrl-C before the ranks have their handlers is held back until every rank
    has said so (SEQLEARN_READY_DIR), so it stops the run cleanly (exit 3) instead of killing the
    ranks with SIGUSR2's default action (exit 140, nothing written)."""
    def hook(proc):
        raise KeyboardInterrupt
    runner._set_on_start(hook)
    out = tmp_path / "o.h5"
    with pytest.raises(seqlearn.RunInterrupted) as e:
        seqlearn.run(out, ranks=2, program=PROGRAM, progress=False,
                     overrides={"network.grid": "3x3", "run.protocol": "train:200000"})
    assert e.value.returncode == 3, e.value
    assert e.value.checkpoint and os.path.isfile(e.value.checkpoint) and out.is_file()


# --- seqlearn-plot: order and legend for file and xor phases (issue 17 item 4) -------------------


@needs_program
def test_plot_orders_file_task_neurons_by_label_epochs(tmp_path):
    """Neurons forced to fire at a fixed offset in every label-0 stretch, in reverse id order:
    the raster's order is that, not id order; the input legend lists the labels, no noise."""
    from seqlearn.cli import plot

    path = tiny_input(tmp_path / "in.h5")
    forced = tmp_path / "forced.csv"
    rows = ["source,id,step"]
    for epoch in (0, 200):  # label 0 stretches [0, 100), [200, 300)
        for k in range(8):
            for jitter in range(3):
                rows.append(f"neuron,{k},{epoch + 10 + 10 * (7 - k) + jitter}")
    forced.write_text("\n".join(rows) + "\n")
    with seqlearn.run(tmp_path / "o.h5", program=PROGRAM, progress=False,
                      overrides={"network.grid": "3x3", "input.task": "file", "input.file": path,
                                 "network.n_inputs": 10, "run.protocol": "test:400:file",
                                 "validation.forced_spikes": forced}) as run:
        phase = run.phases[0]
        assert plot.default_order_phase(run) is phase
        order, label, n_locked = plot.neuron_order(run, phase, np.arange(run.n_neurons))
        assert order[:8] == list(range(7, -1, -1)) and order != sorted(order) and n_locked == 8
        assert label.startswith("order from label 0 in phase 0")
        steps, channels, from_pattern = run.input_spikes()
        groups = plot.input_groups(run, phase, steps, from_pattern)
        assert [g[0] for g in groups] == ["label 0", "label 1"]  # coloured by label; no "noise"
        assert sum(int(g[2].sum()) for g in groups) == len(steps)
        assert int(groups[0][2].sum()) == int((run.pattern_id()[steps] == 0).sum())


def test_plot_legend_only_what_is_there(tmp_path):
    from seqlearn.cli import plot

    class Phase:
        task, first, end = "pattern", 0, 10

    steps = np.arange(4)
    assert [g[0] for g in plot.input_groups(None, Phase, steps, np.ones(4, bool))] == ["pattern"]
    assert [g[0] for g in plot.input_groups(None, Phase, steps, np.zeros(4, bool))] == ["noise"]
    assert [g[0] for g in plot.input_groups(None, Phase, steps[:0], np.zeros(0, bool))] == []
    Phase.task = "xor"
    assert [g[0] for g in plot.input_groups(None, Phase, steps, np.r_[True, False, True, True])] == \
        ["xor patterns", "noise"]


# --- to_neo groups; crafted files (issue 18 D13/D14) ----------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    if not (os.access(PROGRAM, os.X_OK) and shutil.which("mpirun")):
        pytest.skip("no seqlearn_mpi (SEQLEARN_MPI) or mpirun")
    out = tmp_path_factory.mktemp("tiny") / "t.h5"
    seqlearn.run(out, program=PROGRAM, progress=False,
                 overrides={"network.grid": "3x3", "run.protocol": "train:100,test:100:xor"}).close()
    return out


def test_to_neo_groups(tiny_run):
    neo = pytest.importorskip("neo")
    with seqlearn.open(tiny_run) as run:
        block = run.to_neo()
        names = [g.name for g in block.groups]
        assert names == ["neurons", "inputs"]
        neurons, inputs = block.groups
        assert len(neurons.spiketrains) == 2 * run.n_neurons and len(inputs.spiketrains) == 2 * run.n_inputs
        assert {t.annotations["source"] for t in neurons.spiketrains} == {"neuron"}
        assert {t.annotations["source"] for t in inputs.spiketrains} == {"input"}
        assert sum(len(t) for t in neurons.spiketrains) == len(run.spikes()[0])
        assert [g.name for g in run.to_neo(inputs=False).groups] == ["neurons"]
        one = run.to_neo(phases=[1])
        assert len(one.segments) == 1 and one.segments[0].annotations["task"] == "xor"
        with pytest.raises(ValueError, match="did not run"):
            run.to_neo(phases=[7])
        assert isinstance(block, neo.Block)


def test_spike_quantities_and_targets_reach_neo(tmp_path):
    """A spike quantity (docs/extending.md: /spikes/NAME, here written into a real run's file)
    travels with each spike as an array annotation; the multi task's targets (/input/rate)
    become an IrregularlySampledSignal per phase."""
    neo = pytest.importorskip("neo")
    if not (os.access(PROGRAM, os.X_OK) and shutil.which("mpirun")):
        pytest.skip("no seqlearn_mpi (SEQLEARN_MPI) or mpirun")
    out = tmp_path / "m.h5"
    seqlearn.run(out, program=PROGRAM, progress=False,
                 overrides={"network.grid": "3x3", "run.protocol": "train:300:multi,test:200",
                            "input.t_multi_window": "100"}).close()
    with h5py.File(out, "a") as f:  # a value each spike can be checked by: neuron * 1000 + step
        f["spikes/code"] = f["spikes/neuron"][:] * 1000.0 + f["spikes/step"][:]
        f["spikes/code"].attrs["units"] = "1"
    with seqlearn.open(out) as run:
        assert run.spike_quantities == ["code"]
        steps, ids, codes = run.spike_values("code")
        assert np.array_equal(codes, ids * 1000.0 + steps) and np.array_equal((steps, ids), run.spikes())
        with pytest.raises(KeyError, match="no spike quantity 'u_at_spike'.*record.quantities"):
            run.spike_values("u_at_spike")  # not recorded: the error says why, not h5py's
        targets = run.task_targets()
        assert list(targets) == ["rate"] and targets["rate"][2] == "Hz"
        assert np.array_equal(targets["rate"][0], [0, 100, 200])
        block = run.to_neo(inputs=False)
        first, second = block.segments
        trains = [t for t in first.spiketrains if len(t)]
        assert trains
        for train in trains:
            steps = np.rint(train.times.rescale("ms").magnitude / run.dt_ms)
            assert np.array_equal(train.array_annotations["code"], train.annotations["neuron_id"] * 1000.0 + steps)
        (signal,) = first.irregularlysampledsignals
        assert signal.name == "targets rate" and str(signal.units.dimensionality) == "Hz"
        assert np.array_equal(signal.magnitude, targets["rate"][1])
        assert not second.irregularlysampledsignals  # the test phase has no multi rows
        # the input's labels, one sample per step and a channel per stream
        assert run.input_labels == ["pattern_id", "sequence_id"]
        labels = {s.name: s for s in second.analogsignals}
        assert sorted(labels) == ["label pattern_id", "label sequence_id"]
        assert labels["label pattern_id"].shape == (200, 2) and labels["label sequence_id"].shape == (200, 1)
        assert float(labels["label pattern_id"].t_start.rescale("ms")) == 300 * run.dt_ms
        assert np.array_equal(labels["label pattern_id"].magnitude[:, 0], run.pattern_id(300, 500))


def crafted(src, dst, **config):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        for key, value in config.items():
            f["config"].attrs[key.replace("__", ".")] = value
    return dst


@pytest.mark.parametrize("key, value", [("neuron__dt", "0"), ("neuron__dt", "nan"), ("neuron__dt", "-1"),
                                        ("neuron__dt", "inf"), ("neuron__dt", "x"),
                                        ("input__t_pattern_xor", "inf"), ("input__t_pattern_xor", "0"),
                                        ("input__t_pattern_xor", "1e300"), ("neuron__tau_decay", "0")])
def test_crafted_config_values_are_one_clear_error(tiny_run, tmp_path, key, value):
    path = crafted(tiny_run, tmp_path / "c.h5", **{key: value})
    name = key.replace("__", ".")
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        with seqlearn.open(path) as run:
            run.xor_windows()
            sa.readouts(run)
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        sa.analyze(str(path))
    proc = subprocess.run([sys.executable, "-m", "seqlearn.cli.analyze", str(path), "--json", "-"],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.path.join(
                              os.path.dirname(TOOLS), "python")), timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and name in proc.stderr


@pytest.mark.parametrize("attr, value", [("n_neurons", 10**12), ("n_neurons", 64), ("n_inputs", 10**12),
                                         ("n_neurons", -1), ("n_inputs", 2**62)])
def test_crafted_counts_refused_before_allocating(tiny_run, tmp_path, attr, value):
    path = tmp_path / "n.h5"
    shutil.copy(tiny_run, path)
    with h5py.File(path, "r+") as f:
        f["network"].attrs[attr] = value
    with pytest.raises(ValueError, match=attr):
        seqlearn.open(path)
    proc = subprocess.run([sys.executable, "-m", "seqlearn.cli.analyze", str(path), "--json", "-"],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.path.join(
                              os.path.dirname(TOOLS), "python")), timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and attr in proc.stderr


def many_phases(src, dst, n):
    """The tiny run's file with /phases rewritten to n one-step phases (test, train, by turns;
    tasks pattern, xor, file by turns of two) and labels for n steps."""
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        del f["phases"], f["input/pattern_id"], f["input/sequence_id"]
        g = f.create_group("phases")
        g["first_step"] = np.arange(n, dtype=np.int64)
        g["steps"] = np.ones(n, np.int64)
        g["learning"] = (np.arange(n) % 2).astype(np.uint8)
        g["name"] = np.where(np.arange(n) % 2 == 1, b"train", b"test").astype("S6")
        g["task"] = np.array([b"pattern", b"xor", b"file"])[(np.arange(n) // 2) % 3].astype("S8")
        rng = np.random.default_rng(0)
        f.create_dataset("input/pattern_id", data=rng.integers(-1, 2, (n, 2)).astype(np.int32)).attrs["first_step"] = 0
        f.create_dataset("input/sequence_id", data=rng.integers(-1, 2, n).astype(np.int32)).attrs["first_step"] = 0
        f["run"].attrs["last_step"] = float(n)
    return dst


def test_a_million_phases_analysed_linearly(tiny_run, tmp_path):
    import resource
    import time

    path = many_phases(tiny_run, tmp_path / "m.h5", 10**6)
    t = time.time()
    result = sa.analyze(str(path))
    assert time.time() - t < 120  # a hang guard: about 10 s here (90 s and 1.7 GB before)
    assert result["readout_xor"]["blocks_omitted"] == 500_000 - sa.MAX_PHASE_DETAIL - 1  # (and the one before training)
    assert len(result["readout_xor"]["blocks"]) <= sa.MAX_PHASE_DETAIL + 1
    assert result["trained"]["phases_omitted"] > 0 and len(result["trained"]["phases"]) == sa.MAX_PHASE_DETAIL
    assert result["phase_tasks"] is None and sum(result["phase_task_counts"].values()) == 10**6
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 1_500_000  # KB


def test_to_neo_many_phases_refused_up_front_or_chosen(tiny_run, tmp_path):
    pytest.importorskip("neo")
    import time

    path = many_phases(tiny_run, tmp_path / "m.h5", 5000)
    with seqlearn.open(path) as run:
        t = time.time()
        with pytest.raises(ValueError, match="max_trains"):
            run.to_neo()
        assert time.time() - t < 5
        block = run.to_neo(phases=range(4990, 5000))
        assert [s.annotations["phase"] for s in block.segments] == list(range(4990, 5000))
        assert [len(s.spiketrains) for s in block.segments] == [run.n_neurons + run.n_inputs] * 10


# --- hostile cases found by the hostile round (docs: the report's numbered list) ------------------


def test_hostile_file_keys_refused_before_launch(tmp_path):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    good = tiny_input(tmp_path / "in.h5")
    fake = sys.executable  # never started: every case is refused before
    for key in runner.INPUT_FILE_KEYS:
        for bad, what in ((fifo, "not a regular file"), ("/dev/zero", "not a regular file"),
                          (tmp_path / "missing.csv", "missing"), (tmp_path, "not a regular file")):
            with pytest.raises(FileNotFoundError, match=what):
                seqlearn.run(tmp_path / "o.h5", overrides={**TINY, key: bad}, program=fake)
    with pytest.raises(ValueError, match="also the output"):
        seqlearn.run(good, overrides={**TINY, "input.file": good}, program=fake, overwrite=True)
    with pytest.raises(ValueError, match="is the output"):
        seqlearn.run(tmp_path / "o.h5", overrides={**TINY, "output.checkpoint_file": tmp_path / "o.h5"}, program=fake)
    ck = tmp_path / "ck.h5"
    os.mkfifo(ck)
    with pytest.raises(FileExistsError, match="only a regular file"):
        seqlearn.run(tmp_path / "o.h5", overrides={**TINY, "output.checkpoint_file": ck}, program=fake, overwrite=True)
    with pytest.raises(ValueError, match="same file"):
        seqlearn.restore(good, good, program=fake, overwrite=True)
    with pytest.raises(ValueError, match="control character"):  # only file names may hold newlines
        seqlearn.run(tmp_path / "o.h5", overrides={**TINY, "run.protocol": "train:50\n--overwrite"}, program=fake)
    assert sorted(os.listdir(tmp_path)) == ["ck.h5", "fifo.csv", "in.h5"]


def test_hostile_program_and_argument_size(tmp_path):
    with pytest.raises(seqlearn.RunError, match="wrote no output"):  # a program that is not seqlearn_mpi
        seqlearn.run(tmp_path / "o.h5", overrides=TINY, program=shutil.which("true"), progress=False)
    if shutil.which("mpirun"):
        with pytest.raises(seqlearn.RunError, match="cannot start") as e:  # E2BIG: a RunError, no OSError
            seqlearn.run(tmp_path / "o.h5", overrides={"network.grid": "3" * 3_000_000},
                         program=shutil.which("true"), progress=False)
        assert e.value.returncode is None
    with pytest.raises(FileNotFoundError, match="MPI launcher"):
        seqlearn.run(tmp_path / "o.h5", overrides=TINY, program=shutil.which("true"), mpirun="mpirun; touch PWNED")
    assert not (tmp_path / "PWNED").exists() and not os.path.exists("PWNED")


def test_message_is_one_line():
    lines = ["seqlearn_mpi: 10.0% ...\n", "seqlearn_mpi: error: invalid value 'a\n", "b' for input.file\n",
             "-------\n", "Primary job  terminated normally\n"]
    assert runner._message(lines) == "seqlearn_mpi: error: invalid value 'a\\nb' for input.file"
    assert runner._message(["mpirun: not found\n"]) == "mpirun: not found"


def test_write_input_hostile_values(tmp_path):
    with pytest.raises(ValueError, match="beyond int64"):
        seqlearn.write_input(tmp_path / "u.h5", np.array([2**63], np.uint64), [0])
    with pytest.raises(FileNotFoundError, match="folder"):
        seqlearn.write_input(tmp_path / "missing" / "u.h5", [0], [0])
    odd = seqlearn.write_input(tmp_path / "-x\ny z.h5", [0], [0])
    assert h5py.is_hdf5(odd) and os.listdir(tmp_path) == ["-x\ny z.h5"]


def test_repeated_ctrl_c_escalates(tmp_path):
    """A program that ignores SIGUSR2 is stopped by the third (SIGTERM) and fourth (SIGKILL) Ctrl-C."""
    hits = []

    def hook(proc):
        def fire(n):
            hits.append(n)
            _thread.interrupt_main()
            if n < 4:
                threading.Timer(0.4, fire, (n + 1,)).start()
        threading.Timer(0.4, fire, (1,)).start()

    runner._set_on_start(hook)
    code, lines, interrupted = runner._execute(
        ["/bin/sh", "-c", "trap '' USR2 TERM; sleep 30"], dict(os.environ), None)
    assert interrupted >= 3 and code != 0 and code != 3


def test_write_input_never_replaces_what_appears_meanwhile(tmp_path, monkeypatch):
    """A link planted at the path after the check: the final link(2) fails, nothing is followed."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "in.h5"
    real_lexists = os.path.lexists

    def lexists(path):
        if os.fspath(path) == str(target) and not real_lexists(path):
            os.symlink(victim, target)  # the race: planted right after the check
            return False
        return real_lexists(path)

    monkeypatch.setattr(os.path, "lexists", lexists)
    with pytest.raises(FileExistsError):
        seqlearn.write_input(target, [0], [0])
    assert victim.read_text() == "precious" and os.path.islink(target)
    assert sorted(os.listdir(tmp_path)) == ["in.h5", "victim.txt"]


@needs_program
def test_a_broken_progress_callback_does_not_break_the_run(tmp_path):
    def progress(line):
        raise RuntimeError("broken")

    with seqlearn.run(tmp_path / "o.h5", program=PROGRAM, progress=progress, overrides=TINY) as run:
        assert run.last_step == 100


def test_crafted_phase_lengths_refused(tiny_run, tmp_path):
    path = tmp_path / "p.h5"
    shutil.copy(tiny_run, path)
    with h5py.File(path, "r+") as f:
        del f["phases/steps"]
        f["phases/steps"] = np.ones(5, np.int64)
    with pytest.raises(ValueError, match="/phases/steps"):
        seqlearn.open(path)


@pytest.mark.parametrize("version,kind,bound,unbound,stop", [
    ("mpirun (Open MPI) 4.1.4", "openmpi", ["--map-by", "slot:PE=1", "--bind-to", "core"],
     ["--oversubscribe", "--bind-to", "none"], signal.SIGUSR2),
    ("HYDRA build details:\n    Version: 4.0.2", "hydra", ["-bind-to", "core:1"], ["-bind-to", "none"],
     signal.SIGTERM),
    ("some other launcher 1.0", "other", [], [], signal.SIGUSR2),
])
def test_launch_follows_the_mpi(tmp_path, monkeypatch, version, kind, bound, unbound, stop):
    """Issue 17: seqlearn.run launches as scripts/launch.sh does for Open MPI and for MPICH's
    hydra (binding options, and the stop signal each forwards: hydra dies of SIGUSR2 and leaves
    its ranks running)."""
    fake = tmp_path / "mpirun"
    fake.write_text("#!/bin/sh\ncat <<'EOF'\n" + version + "\nEOF\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SEQLEARN_CORES", "2")
    assert runner.mpi_kind(str(fake)) == kind
    assert runner.stop_signal(str(fake)) == stop
    argv, _, _ = runner.launch_command(1, 1, str(fake))
    assert argv == [str(fake), "-n", "1"] + bound
    argv, env, _ = runner.launch_command(3, 1, str(fake))
    assert argv == [str(fake), "-n", "3"] + unbound and env["OMP_WAIT_POLICY"] == "passive"


@needs_program
def test_sigterm_to_python_stops_the_run_cleanly(tmp_path):
    """The last hostile round: SIGTERM to the Python running seqlearn.run (a scheduler,
    `timeout`) killed only Python; mpirun, in its own session, ran on unattended. Now it is a
    clean stop, as Ctrl-C: exit 3, checkpoint and output, nothing left running."""
    out = tmp_path / "t.h5"
    code = ("import seqlearn\n"
            f"seqlearn.run({str(out)!r}, program={PROGRAM!r}, progress=False, "
            "overrides={'network.grid': '3x3', 'run.protocol': 'train:5000000'})")
    env = {**os.environ, "PYTHONPATH": os.path.join(os.path.dirname(TOOLS), "python")}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "t.h5.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert "RunInterrupted" in err and "exit code 3" in err, err
    assert out.is_file() and (tmp_path / "t.ckpt.h5").is_file()
    assert not list(tmp_path.glob("*.lock"))
