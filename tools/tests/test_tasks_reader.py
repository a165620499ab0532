"""The reader, Neo and seqlearn-plot on runs with phases of the three input tasks (issue 11:
/phases/task, /input/pattern_id [T, 2]). Hostile test: pattern presentations were read from
the labels of xor and file phases (column 0 of an xor phase is half 1's id, of a file phase the
file's label), half 2 was ignored, Neo Segments had no task, and seqlearn-plot ordered the
neurons "from pattern 0 in phase 4" of an xor phase and shaded its windows as presentations."""
import os
import subprocess
import sys

import numpy as np
import pytest

from test_readouts import write_run

TOOLS = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(TOOLS), "python"))
import seqlearn  # noqa: E402

PYTHON = "/usr/bin/python3"
W = 50  # input.t_pattern_xor (write_run's config), dt = 1 ms
PHASES = [("test", 600, 0, "pattern"), ("test", 400, 0, "xor"), ("test", 300, 0, "file"), ("test", 500, 0, "xor")]
XOR1 = [0, 0, 1, 1, 0, 1, 0, 0]  # phase 1's windows, half 1
XOR2 = [0, 1, 1, 0, 0, 0, 1, 1]
FILE_LABELS = [(50, 150, 3), (150, 250, 0)]  # phase 2, relative steps


def mixed_run(path):
    total = sum(p[1] for p in PHASES)
    labels = np.full((total, 2), -1, np.int32)
    sequence = np.full(total, -1, np.int32)
    for a, b in ((100, 200), (300, 400)):  # pattern 0 twice, noise around it
        labels[a:b, 0] = 0
        sequence[a:b] = 0
    for k, (h1, h2) in enumerate(zip(XOR1, XOR2)):  # an xor phase: no noise, ids 0 and 1
        labels[600 + k * W:600 + (k + 1) * W] = h1, h2
    for a, b, value in FILE_LABELS:
        labels[1000 + a:1000 + b, 0] = value
    labels[1300:1800] = 0  # the second xor phase: every window 0, 0 (as long as 1.5 presentations)
    rng = np.random.default_rng(1)
    net = np.nonzero(rng.random((total, 4)) < 0.02)
    inputs = np.nonzero(rng.random((total, 8)) < 0.02)
    return write_run(str(path), PHASES, 8, 4, net, inputs, labels, sequence)


def test_presentations_windows_and_labels_by_task(tmp_path):
    with seqlearn.open(mixed_run(tmp_path / "mixed.h5")) as run:
        assert [p.task for p in run.phases] == ["pattern", "xor", "file", "xor"]
        # pattern presentations from the pattern phase only (the xor phases' and file phase's
        # column 0 held "pattern 0" stretches: 0,0 windows, label 0)
        table = run.presentation_table()
        assert list(table["phase"]) == [0, 0] and list(table["start_step"]) == [100, 300]
        assert [p.start for p in run.presentations()] == [100, 300]
        assert run.presentations(600, 1000) == [] and run.presentations(1000, 1300) == []
        # xor windows with both halves
        windows = run.xor_windows(600, 1000)
        assert [(w.start, w.length) for w in windows] == [(600 + k * W, W) for k in range(8)]
        assert [w.half1 for w in windows] == XOR1 and [w.half2 for w in windows] == XOR2
        assert [w.xor for w in windows] == [int(a != b) for a, b in zip(XOR1, XOR2)]
        xt = run.xor_window_table()
        assert list(xt["phase"]) == [1] * 8 + [3] * 10
        assert list(xt["half2"][:8]) == XOR2 and list(xt["end_ms"][:2]) == [650.0, 700.0]
        # a window cut by the range asked for is left out; windows count from the phase's start
        assert [w.start for w in run.xor_windows(620, 760)] == [650, 700]
        # file labels as stretches of one value
        assert [(e.start, e.end, e.label) for e in run.label_epochs()] == [(1050, 1150, 3), (1150, 1250, 0)]
        lt = run.label_table()
        assert list(lt["phase"]) == [2, 2] and list(lt["label"]) == [3, 0]


def test_neo_segments_carry_the_task_and_its_epochs(tmp_path):
    pytest.importorskip("neo")
    with seqlearn.open(mixed_run(tmp_path / "mixed.h5")) as run:
        block = run.to_neo(inputs=False)
    tasks = [s.annotations["task"] for s in block.segments]
    assert tasks == ["pattern", "xor", "file", "xor"]
    epochs = [{e.name: e for e in s.epochs} for s in block.segments]
    assert [len(e["pattern presentations"]) for e in epochs] == [2, 0, 0, 0]
    assert "xor windows" not in epochs[0] and "file labels" not in epochs[1]
    xor = epochs[1]["xor windows"]
    assert len(xor) == 8 and list(xor.labels[:2]) == ["h1=0 h2=0", "h1=0 h2=1"]
    assert list(xor.array_annotations["half2"]) == XOR2 and list(xor.array_annotations["xor"][:3]) == [0, 1, 0]
    assert float(xor.times[1].rescale("ms")) == 650.0 and float(xor.durations[0].rescale("ms")) == W
    labels = epochs[2]["file labels"]
    assert list(labels.labels) == ["label 3", "label 0"] and list(labels.array_annotations["label"]) == [3, 0]
    assert len(epochs[3]["xor windows"]) == 10


def load_plot():
    import seqlearn.cli.plot
    return seqlearn.cli.plot


def test_plot_does_not_claim_pattern_presentations_in_xor_or_file_phases(tmp_path, monkeypatch):
    path = mixed_run(tmp_path / "mixed.h5")
    plot = load_plot()
    drawn = []

    def raster(run, phase, window, order, neurons, out_dir, pdf, label):
        drawn.append((phase.index, label, plot.shaded_epochs(run, phase, phase.first, phase.end)))
        return f"raster {phase.index}"

    monkeypatch.setattr(plot, "raster", raster)
    assert plot.main([path, "--out", str(tmp_path / "fig")]) == 0
    # the default order phase is the last test phase of the pattern task (phase 0), not xor phase 3
    assert [d[0] for d in drawn] == [0, 3]
    assert all(d[1].startswith("order from pattern 0 in phase 0 (") for d in drawn)
    shaded, note, texts = drawn[1][2]
    assert "xor" in note and "presentation" not in note and shaded == []  # every window 0, 0: XOR = 0
    drawn.clear()
    assert plot.main([path, "--out", str(tmp_path / "fig"), "--phase", "1", "--phase", "2"]) == 0
    shaded, note, _ = drawn[0][2]
    assert "xor" in note and [w.start for w in shaded] == [650, 750, 850, 900, 950]
    shaded, note, texts = drawn[1][2]
    assert "file" in note and texts == ["3", "0"] and [e.start for e in shaded] == [1050, 1150]
    # an xor phase orders the neurons by their activation time within its windows (issue 17)
    drawn.clear()
    assert plot.main([path, "--out", str(tmp_path / "fig"), "--order-phase", "3"]) == 0
    assert all(d[1].startswith("order from xor windows in phase 3 (") for d in drawn)
    # the real drawing works on every task
    proc = subprocess.run([PYTHON, os.path.join(TOOLS, "seqlearn-plot"), path, "--out", str(tmp_path / "f3"),
                           "--phase", "1", "--phase", "2"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "f3" / "raster_phase1_test.png").exists() and (tmp_path / "f3" / "raster_phase2_test.png").exists()


@pytest.mark.skipif("SEQLEARN_MPI" not in os.environ, reason="set SEQLEARN_MPI to the simulator (CTest does)")
def test_a_real_run_with_xor_test_phases(tmp_path):
    """The hostile tester's run: pattern and xor test phases alternating."""
    out = tmp_path / "xor.h5"
    proc = subprocess.run([os.environ["SEQLEARN_MPI"], "--network.grid", "3x3", "--threads", "1",
                           "--run.protocol", "test:3000,train:3000,test:3000:xor,test:3000,test:2000:xor",
                           "--output", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with seqlearn.open(str(out)) as run:
        assert [p.task for p in run.phases] == ["pattern", "pattern", "xor", "pattern", "xor"]
        assert set(run.presentation_table()["phase"]) <= {0, 1, 3}
        windows = run.xor_windows()
        assert len(windows) == 3000 // W + 2000 // W
        for w in windows:  # both halves hold their ids over the whole window
            assert set(run.pattern_id(w.start, w.end, 0)) == {w.half1}
            assert set(run.pattern_id(w.start, w.end, 1)) == {w.half2}
        assert {w.half1 for w in windows} == {0, 1} and {w.xor for w in windows} == {0, 1}
    plot = subprocess.run([PYTHON, os.path.join(TOOLS, "seqlearn-plot"), str(out), "--out", str(tmp_path / "fig")],
                          capture_output=True, text=True)
    assert plot.returncode == 0, plot.stderr



def wave_run(path):
    """A pattern phase, then a phase of a task registered outside seqlearn (docs/extending.md:
    `wave`), which labels the quarters of its period, 100 steps each."""
    phases = [("test", 600, 0, "pattern"), ("test", 400, 0, "wave")]
    labels = np.full((1000, 2), -1, np.int32)
    labels[100:200, 0] = 0  # a pattern presentation
    for k in range(4):
        labels[600 + 100 * k:700 + 100 * k, 0] = k
    rng = np.random.default_rng(2)
    return write_run(str(path), phases, 8, 4, np.nonzero(rng.random((1000, 4)) < 0.02),
                     np.nonzero(rng.random((1000, 8)) < 0.02), labels, np.full(1000, -1, np.int32))


def test_a_plug_in_task_is_found_by_its_name_and_read_by_its_labels(tmp_path):
    """The reader and seqlearn-plot read a plug-in task's phases (named in /phases/task) by
    their labels, as the file task's, with no branch for the task."""
    with seqlearn.open(wave_run(tmp_path / "wave.h5")) as run:
        assert [p.task for p in run.phases] == ["pattern", "wave"]
        assert [(e.start, e.label) for e in run.label_epochs()] == [(600, 0), (700, 1), (800, 2), (900, 3)]
        method, name, epochs = run.task_epochs(run.phases[1])
        assert (method, name, len(epochs)) == ("label_epochs", "wave labels", 4)
        assert [p.start for p in run.presentations()] == [100]
        shaded, note, texts = load_plot().shaded_epochs(run, run.phases[1], 600, 1000)
        assert note == "task wave: stretches of each label shaded" and texts == ["0", "1", "2", "3"]
        epochs, what = load_plot().order_epochs(run, run.phases[1], 2)
        assert [e.start for e in epochs] == [800] and what == "label 2"


def test_neo_epochs_of_a_plug_in_task(tmp_path):
    pytest.importorskip("neo")
    with seqlearn.open(wave_run(tmp_path / "wave.h5")) as run:
        block = run.to_neo(inputs=False)
    epochs = {e.name: e for e in block.segments[1].epochs}
    assert list(epochs["wave labels"].labels) == ["label 0", "label 1", "label 2", "label 3"]
