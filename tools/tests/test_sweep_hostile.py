"""Issue 18 defects of seqlearn-sweep (D8, D9, D18, D13's `sweep --out FILE`) and the safe
reading and writing of every tool (D2's rule; python/seqlearn/safe_io.py). The tools run in
this process (seqlearn.cli.NAME.main) where a subprocess is not what is tested."""
import csv
import json
import os
import subprocess
import sys
import signal
import threading
import time

import pytest

from test_readouts import MIXED, xor_run

TOOLS = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(TOOLS), "python"))
from seqlearn import safe_io  # noqa: E402
from seqlearn.cli import analyze, join, plot, scaling, sweep  # noqa: E402

BIN = os.environ.get("SEQLEARN_MPI")
needs_bin = pytest.mark.skipif(BIN is None, reason="set SEQLEARN_MPI to the simulator (CTest does)")


@pytest.fixture
def program(monkeypatch):
    if BIN is None:
        pytest.skip("set SEQLEARN_MPI to the simulator (CTest does)")
    monkeypatch.setenv("SEQLEARN_BIN", BIN)
    return BIN


def one_line(capsys):
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# ---- D8: sweep.sbatch injection ---------------------------------------------------------------

def test_a_newline_in_out_is_refused_and_nothing_is_injected(program, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = "d2\ntouch PWNED\n#"
    assert sweep.main(["--param", "run.seed=1,2", "--out", out, "--slurm", "--dry-run", "--",
                       "--network.grid", "3x3"]) == 2
    assert "control character" in one_line(capsys)
    assert not os.path.exists(out) and not (tmp_path / "PWNED").exists()
    # a newline in a value or a program argument, too
    for bad in (["--param", "run.seed=1,2\ntouch PWNED", "--out", "v"],
                ["--param", "run.seed=1,2", "--out", "v", "--", "--input.file", "a\ntouch PWNED"]):
        before = bad.index("--") if "--" in bad else len(bad)
        assert sweep.main(bad[:before] + ["--slurm", "--dry-run"] + bad[before:]) == 2
        capsys.readouterr()
    assert not (tmp_path / "PWNED").exists()


def test_the_generated_script_run_with_bash_runs_no_injected_command(program, tmp_path, capsys, monkeypatch):
    """Spaces, $(...), backquotes, ; and glob characters in --out and in values: the script runs
    the program with them as plain words (SEQLEARN_LAUNCHER=echo stands for srun)."""
    monkeypatch.chdir(tmp_path)
    out = "d 3 $(touch PWNED) `touch PWNED2`;touch PWNED3 *"
    assert sweep.main(["--param", "input.file=$(touch PWNED4).csv,'a b;touch PWNED5'", "--out", out, "--slurm",
                       "--dry-run", "--", "--network.grid", "3x3", "--input.label_file", "x;$(touch PWNED6)*"]) == 0
    capsys.readouterr()
    script = tmp_path / out / "sweep.sbatch"
    assert '#SBATCH --output="' in script.read_text()
    for task in (0, 1):
        proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, cwd=tmp_path,
                              env={**os.environ, "SLURM_ARRAY_TASK_ID": str(task), "SLURM_NTASKS": "1",
                                   "SEQLEARN_LAUNCHER": "echo", "SEQLEARN_PYTHON": sys.executable})
        assert proc.returncode == 0, proc.stderr
        assert f"--output {out}/input.file=" in proc.stdout and f"--output.file" not in proc.stdout
        assert "x;$(touch PWNED6)*" in proc.stdout
    assert not [p for p in os.listdir(tmp_path) if p.startswith("PWNED")]
    assert not [p for p in os.listdir(tmp_path / out) if p.startswith("PWNED")]


# ---- D18 and --out -------------------------------------------------------------------------

@pytest.mark.parametrize("arg", ["--output=foo.h5", "--output", "--output.file=foo.h5", "--output.file",
                                 "--output.fil", "--output.f=x.h5", "--output.checkpoint_file=c.h5"])
def test_per_point_output_arguments_are_caught_in_every_spelling(tmp_path, capsys, arg):
    assert sweep.main(["--param", "run.seed=1,2", "--out", str(tmp_path / "s"), "--", arg, "foo.h5"]) == 2
    assert "is set per point by the sweep" in one_line(capsys)
    assert not (tmp_path / "s").exists()


def test_output_keys_are_not_swept(tmp_path, capsys):
    assert sweep.main(["--param", "output.file=a.h5,b.h5", "--out", str(tmp_path / "s")]) == 2
    assert "set per point" in one_line(capsys)


@pytest.mark.parametrize("kind", ["file", "link", "fifo"])
def test_out_that_is_not_a_folder_is_one_line(program, tmp_path, capsys, kind):
    out = tmp_path / "out"
    if kind == "file":
        out.write_text("x")
    elif kind == "link":
        (tmp_path / "real").mkdir()
        os.symlink(tmp_path / "real", out)
    else:
        os.mkfifo(out)
    assert sweep.main(["--param", "run.seed=1,2", "--out", str(out), "--slurm", "--dry-run"]) == 2
    message = one_line(capsys)
    assert "not a folder" in message and "not a regular file, not" not in message
    assert {"file": "is a file", "link": "is a symbolic link", "fifo": "is a FIFO"}[kind] in message
    assert sweep.main(["--collect", str(out)]) == 2
    assert "not a folder" in one_line(capsys)


def test_point_outputs_that_are_links_or_fifos_are_refused_even_with_overwrite(program, tmp_path, capsys):
    out = tmp_path / "s"
    out.mkdir()
    (tmp_path / "victim").write_text("precious")
    os.symlink(tmp_path / "victim", out / "run.seed=1.h5")
    os.mkfifo(out / "run.seed=2.h5")
    for extra in ([], ["--overwrite"]):
        assert sweep.main(["--param", "run.seed=1,2", "--out", str(out), "--slurm", "--dry-run", *extra]) == 2
        assert "only a regular file is replaced" in one_line(capsys)
    assert (tmp_path / "victim").read_text() == "precious"


# ---- D9: --collect and re-runs ---------------------------------------------------------------

def collect_rows(capsys, folder, expect):
    assert sweep.main(["--collect", str(folder)]) == expect
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    with open(folder / "summary.csv") as f:
        return {r["point"]: r for r in csv.DictReader(f)}


def sweep_folder(tmp_path, seeds=(1, 2)):
    folder = tmp_path / "sweep"
    folder.mkdir()
    for s in seeds:
        xor_run(str(folder / f"run.seed={s}.h5"), MIXED, seed=s)
    points = [{"name": f"run.seed={s}", "values": {"run.seed": str(s)}} for s in seeds]
    (folder / "sweep.json").write_text(json.dumps({"keys": ["run.seed"], "points": points}))
    return folder


def test_collect_with_a_truncated_analysis_json_analyses_again(tmp_path, capsys):
    folder = sweep_folder(tmp_path)
    rows = collect_rows(capsys, folder, 0)
    text = (folder / "run.seed=1.analysis.json").read_text()
    (folder / "run.seed=1.analysis.json").write_text(text[: len(text) // 2])  # truncated, newer than the run
    (folder / "run.seed=2.analysis.json").write_text(json.dumps({"analysis_version": 2, "untrained": 5}))
    again = collect_rows(capsys, folder, 0)
    assert again["run.seed=1"]["status"] == "done" and again == rows
    json.loads((folder / "run.seed=1.analysis.json").read_text())  # rewritten whole


@pytest.mark.parametrize("manifest", ["{\"keys\": [\"run.seed\"], \"points\": [", "", "[1, 2]",
                                      "{\"keys\": [\"status\"], \"points\": []}", "\xff\xfe"])
def test_collect_with_a_corrupt_sweep_json_still_writes_summary(tmp_path, capsys, manifest):
    folder = sweep_folder(tmp_path)
    (folder / "sweep.json").write_bytes(manifest.encode("latin-1"))
    rows = collect_rows(capsys, folder, 1)
    assert sorted(rows) == ["run.seed=1", "run.seed=2"]
    assert {r["status"] for r in rows.values()} == {"done"} and rows["run.seed=2"]["run.seed"] == "2"


def test_collect_never_reads_or_writes_outside_the_folder(tmp_path, capsys):
    folder = sweep_folder(tmp_path, seeds=(1,))
    outside = tmp_path / "x"
    xor_run(str(tmp_path / "x.h5"), MIXED)
    points = [{"name": "run.seed=1", "values": {"run.seed": "1"}}, {"name": "../x", "values": {"run.seed": "9"}},
              {"name": str(outside), "values": {"run.seed": "8"}}, {"name": "run.seed=1/../../x", "values": {}}]
    (folder / "sweep.json").write_text(json.dumps({"keys": ["run.seed"], "points": points}))
    rows = collect_rows(capsys, folder, 1)
    assert rows["run.seed=1"]["status"] == "done"
    assert [r["status"] for r in rows.values()].count("refused") == 3
    assert not (tmp_path / "x.analysis.json").exists()


def test_collect_of_special_files_marks_them_unreadable(tmp_path, capsys):
    folder = sweep_folder(tmp_path, seeds=(1,))
    os.mkfifo(folder / "run.seed=2.h5")
    os.mkdir(folder / "run.seed=3.h5")
    os.symlink("/dev/zero", folder / "run.seed=4.h5")
    os.mkfifo(folder / "run.seed=1.analysis.json")  # a FIFO where the JSON goes: not kept, no hang
    points = [{"name": f"run.seed={s}", "values": {"run.seed": str(s)}} for s in (1, 2, 3, 4)]
    (folder / "sweep.json").write_text(json.dumps({"keys": ["run.seed"], "points": points}))
    rows = collect_rows(capsys, folder, 1)
    assert rows["run.seed=1"]["status"] == "done"
    assert [rows[f"run.seed={s}"]["status"] for s in (2, 3, 4)] == ["unreadable"] * 3
    assert "FIFO" in rows["run.seed=2"]["reason"] and "folder" in rows["run.seed=3"]["reason"]
    assert "character device" in rows["run.seed=4"]["reason"]
    # summary.csv a link or a FIFO: refused, one line
    os.unlink(folder / "summary.csv")
    os.symlink(tmp_path / "victim", folder / "summary.csv")
    assert sweep.main(["--collect", str(folder)]) == 2
    assert "only a regular file is replaced" in one_line(capsys)
    assert not (tmp_path / "victim").exists()


def test_a_second_sweep_with_other_keys_does_not_replace_sweep_json(program, tmp_path, capsys):
    out = tmp_path / "s"
    base = ["--out", str(out), "--slurm", "--dry-run"]
    assert sweep.main(["--param", "run.seed=1,2", *base]) == 0
    first = (out / "sweep.json").read_text()
    capsys.readouterr()
    assert sweep.main(["--param", "plasticity.learning_rate=0.1,0.2", *base]) == 2
    assert "holds another sweep" in one_line(capsys)
    assert (out / "sweep.json").read_text() == first
    assert sweep.main(["--param", "run.seed=1,2", *base, "--", "--network.grid", "3x3"]) == 2  # other arguments
    capsys.readouterr()
    # the same sweep with more values: the points are merged
    assert sweep.main(["--param", "run.seed=3", *base]) == 0
    names = [p["name"] for p in json.loads((out / "sweep.json").read_text())["points"]]
    assert names == ["run.seed=1", "run.seed=2", "run.seed=3"]
    capsys.readouterr()
    assert sweep.main(["--param", "plasticity.learning_rate=0.1,0.2", *base, "--new-sweep"]) == 0
    assert json.loads((out / "sweep.json").read_text())["keys"] == ["plasticity.learning_rate"]
    # a corrupt sweep.json is not replaced silently either
    (out / "sweep.json").write_text("{")
    capsys.readouterr()
    assert sweep.main(["--param", "plasticity.learning_rate=0.1,0.2", *base]) == 2
    assert "--new-sweep replaces it" in one_line(capsys)


# ---- every tool: inputs are regular files, outputs are never written through ----------------

def test_analyze_refuses_special_inputs_and_outputs(tmp_path, capsys):
    run = xor_run(str(tmp_path / "run.h5"), MIXED)
    os.mkfifo(tmp_path / "fifo.h5")
    assert analyze.main([str(tmp_path / "fifo.h5")]) == 2
    assert "FIFO" in one_line(capsys)
    assert analyze.main([str(tmp_path)]) == 2
    assert "folder" in one_line(capsys)
    (tmp_path / "victim").write_text("precious")
    os.symlink(tmp_path / "victim", tmp_path / "run.analysis.json")
    assert analyze.main([run]) == 2
    assert "symbolic link" in capsys.readouterr().err.splitlines()[-1]
    for target in ("/dev/null", str(tmp_path / "fifo.h5"), str(tmp_path / "no" / "dir.json")):
        assert analyze.main([run, "--json", target]) == 2
        capsys.readouterr()
    assert (tmp_path / "victim").read_text() == "precious"
    assert analyze.main([run, "--json", str(tmp_path / "ok.json")]) == 0
    assert json.loads((tmp_path / "ok.json").read_text())["readout_xor"]
    assert not [p for p in os.listdir(tmp_path) if ".partial." in p]


def test_plot_refuses_special_inputs_and_output_folders(tmp_path, capsys):
    run = xor_run(str(tmp_path / "run.h5"), MIXED)
    os.mkfifo(tmp_path / "fifo.h5")
    assert plot.main([str(tmp_path / "fifo.h5")]) == 2
    assert "FIFO" in one_line(capsys)
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "run_figures")  # a planted link at the default folder
    assert plot.main([run]) == 2
    assert "not a folder" in one_line(capsys)
    assert os.listdir(tmp_path / "elsewhere") == []
    figures = tmp_path / "figs"
    figures.mkdir()
    (tmp_path / "victim").write_text("precious")
    os.symlink(tmp_path / "victim", figures / "grid_K.png")
    assert plot.main([run, "--out", str(figures)]) == 2
    assert "symbolic link" in capsys.readouterr().err.splitlines()[-1]
    assert (tmp_path / "victim").read_text() == "precious"


def test_scaling_refuses_special_files(tmp_path, capsys):
    point = tmp_path / "np1"
    point.mkdir()
    os.mkfifo(point / "timing.json")
    assert scaling.main([str(tmp_path), "--no-plot"]) == 2
    assert "FIFO" in one_line(capsys)
    os.unlink(point / "timing.json")
    (point / "timing.json").write_text("{")
    assert scaling.main([str(tmp_path), "--no-plot"]) == 2
    assert "timing.json" in one_line(capsys)
    (point / "timing.json").write_text(json.dumps({"ranks": 1, "simulate_s": 1.0, "rtf": 0.1}))
    (tmp_path / "victim").write_text("precious")
    os.symlink(tmp_path / "victim", tmp_path / "sweep.json")
    assert scaling.main([str(tmp_path), "--no-plot"]) == 2
    assert (tmp_path / "victim").read_text() == "precious"


def test_concurrent_writers_never_mix_or_leave_partials(tmp_path):
    """Two writers of one name at once (two tools, or two runs of one): each result is whole,
    no temporary file is left; without overwrite exactly one wins and the other is refused."""
    target = tmp_path / "out.txt"
    outcomes = []

    def writer(text, overwrite):
        try:
            safe_io.write_text(target, text * 100000, overwrite=overwrite)
            outcomes.append("ok")
        except safe_io.Refused:
            outcomes.append("refused")
    threads = [threading.Thread(target=writer, args=(c, False)) for c in "abcdefgh"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1 and outcomes.count("refused") == 7
    assert len(set(target.read_text())) == 1
    threads = [threading.Thread(target=writer, args=(c, True)) for c in "ijkl"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(target.read_text())) == 1 and os.listdir(tmp_path) == ["out.txt"]
    assert join  # the join's own cases: test_join.py


# ---- found by the hostile round (issue 18, part C) --------------------------------------------

def test_leading_dashes_in_out_and_values_are_never_options(tmp_path):
    """A value such as -0.5 or -x.csv went to the program as a separate word (read as an
    option); an --out starting with '-' likewise in --output -d/...h5."""
    (point,) = sweep.plan([("network.p_conn", ["-0.5"])], "-d")
    assert point["output"] == "./-d/network.p_conn=-0.5.h5"
    args = sweep.point_args(point, [], None)
    assert args == ["--network.p_conn=-0.5", "--output", "./-d/network.p_conn=-0.5.h5"]
    assert sweep.collect_arg("-d") == "--collect=-d"


def test_a_fifo_at_a_point_log_is_refused_before_anything_runs(program, tmp_path, capsys):
    out = tmp_path / "s"
    out.mkdir()
    os.mkfifo(out / "run.seed=1.log")
    assert sweep.main(["--param", "run.seed=1,2", "--out", str(out), "--slurm", "--dry-run"]) == 2
    assert "run.seed=1.log exists and is a FIFO" in one_line(capsys)
    assert sorted(os.listdir(out)) == ["run.seed=1.log"]


# ---- found by the third hostile round (E, F, H, D) --------------------------------------------

def sweep_script(tmp_path, capsys, seeds="1,2"):
    assert sweep.main(["--param", f"run.seed={seeds}", "--out", "sw", "--slurm", "--dry-run", "--",
                       "--network.grid", "3x3"]) == 0
    capsys.readouterr()
    return tmp_path / "sw" / "sweep.sbatch"


def run_script(script, tmp_path, task, launcher):
    return subprocess.run(["bash", str(script)], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "SLURM_ARRAY_TASK_ID": task, "SLURM_NTASKS": "1",
                               "SEQLEARN_LAUNCHER": launcher, "SEQLEARN_PYTHON": sys.executable})


def test_sweep_sbatch_matches_the_array_task_id_before_using_it(program, tmp_path, capsys, monkeypatch):
    """E: SLURM_ARRAY_TASK_ID was an arithmetic array index: 'PATH[$(touch PWNED5)]' ran the
    command substitution. Now only a decimal number within the points is taken (10#: 08 is 8)."""
    monkeypatch.chdir(tmp_path)
    script = sweep_script(tmp_path, capsys)
    for task in ("PATH[$(touch PWNED5)]", "a[$(touch PWNED6)]", "$(touch PWNED7)", "", "-1", "2", "1+0", " 1"):
        proc = run_script(script, tmp_path, task, "echo")
        assert proc.returncode == 2, (task, proc.stdout, proc.stderr)
        assert "SLURM_ARRAY_TASK_ID" in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert not [p for p in os.listdir(tmp_path) if p.startswith("PWNED")]
    for task, seed in (("1", "2"), ("01", "2"), ("00", "1")):
        proc = run_script(script, tmp_path, task, "echo")
        assert proc.returncode == 0, proc.stderr
        assert f"--run.seed {seed} --output sw/run.seed={seed}.h5" in proc.stdout
    # ten points: task 08 and 09 are 8 and 9, not an octal error
    script = sweep_script(tmp_path, capsys, ",".join(str(s) for s in range(10)))
    proc = run_script(script, tmp_path, "09", "echo")
    assert proc.returncode == 0 and "--run.seed 9 --output sw/run.seed=9.h5" in proc.stdout, proc.stderr
    text = script.read_text()
    assert "$SLURM_ARRAY_TASK_ID]" not in text and "eval" not in text.replace('eval "args=(${points[task]})"', "")


def test_sweep_sbatch_splits_the_launcher_by_lib_sh_rule(program, tmp_path, capsys, monkeypatch):
    """F: $SEQLEARN_LAUNCHER ran unquoted (split at blanks, globbed). Now split as jobs/lib.sh
    documents (quotes keep blanks, nothing globbed or expanded), as run.sbatch does."""
    monkeypatch.chdir(tmp_path)
    script = sweep_script(tmp_path, capsys)
    folder = tmp_path / "my dir"
    folder.mkdir()
    launcher = folder / "L"
    launcher.write_text("#!/bin/sh\nprintf '[%s]\\n' \"$@\"\n")
    launcher.chmod(0o755)
    (tmp_path / "globfile").write_text("")
    proc = run_script(script, tmp_path, "0", f"'{launcher}' 'a b' glob* $HOME")
    assert proc.returncode == 0, proc.stderr
    words = [line for line in proc.stdout.splitlines() if line.startswith("[")]
    assert words[:5] == ["[a b]", "[glob*]", "[$HOME]", "[1]", f"[{os.path.abspath(BIN)}]"], proc.stdout
    proc = run_script(script, tmp_path, "0", f"{launcher} 'a b")
    assert proc.returncode == 2 and "SEQLEARN_LAUNCHER has an unbalanced quote" in proc.stderr, proc.stderr


@pytest.mark.parametrize("value", ["mpirun 'x", 'mpirun "x', "mpirun x\\", "   ", "/nonexistent/mpirun -np",
                                   "mpirun;touch X -np"])
def test_a_bad_seqlearn_mpirun_is_one_line_before_anything_is_written(program, tmp_path, capsys, monkeypatch, value):
    """H: an unbalanced quote in SEQLEARN_MPIRUN was a traceback after sweep.json was written."""
    monkeypatch.setenv("SEQLEARN_MPIRUN", value)
    assert sweep.main(["--param", "run.seed=1", "--out", str(tmp_path / "s"), "--", "--network.grid", "3x3"]) == 2
    assert "SEQLEARN_MPIRUN" in one_line(capsys)
    assert not (tmp_path / "s").exists()


def test_sweep_mpirun_is_split_with_quotes(monkeypatch, tmp_path):
    launcher = tmp_path / "my mpi" / "mpirun"
    launcher.parent.mkdir()
    launcher.write_text("#!/bin/sh\n")
    launcher.chmod(0o755)
    monkeypatch.setenv("SEQLEARN_MPIRUN", f"'{launcher}' -np")
    assert sweep.mpirun() == [str(launcher), "-np"]
    monkeypatch.setenv("SEQLEARN_MPIRUN", "")
    assert sweep.mpirun() == ["mpirun", "-np"]
    monkeypatch.delenv("SEQLEARN_MPIRUN")
    assert sweep.mpirun() == ["mpirun", "-np"]


@pytest.mark.parametrize("path", ["/dev/stdin", "/proc/self/fd/0", "/sys/x.h5", "/dev/shm/../stdin"])
def test_default_outputs_beside_an_input_in_dev_proc_sys_are_refused(path):
    """D: seqlearn-analyze /dev/stdin < run.h5 wrote /dev/stdin.analysis.json. No file is
    written under /dev here: the functions that pick the default paths are called."""
    with pytest.raises(safe_io.Refused, match="--json FILE"):
        analyze.default_json(path)
    with pytest.raises(safe_io.Refused, match="--out DIR"):
        plot.default_figures(path)
    assert analyze.default_json("a/run.h5") == "a/run.analysis.json"
    assert analyze.default_json("run.h5") == "run.analysis.json"
    assert plot.default_figures("a/run.h5") == "a/run_figures"


def test_analyze_and_plot_of_proc_fd_refuse_the_default_output(tmp_path, capsys):
    """The same through main: an input reached through /proc/self/fd/N (a regular file)."""
    fd = os.open(tmp_path / "run.h5", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        path = f"/proc/self/fd/{fd}"
        assert analyze.main([path]) == 2
        assert "--json FILE" in one_line(capsys)
        assert plot.main([path]) == 2
        assert "--out DIR" in one_line(capsys)
    finally:
        os.close(fd)


def test_a_value_that_is_not_utf8_is_refused_in_the_script(program, tmp_path, capsys):
    """A byte that is not UTF-8 on the command line (a surrogate in Python) was a traceback
    while sweep.sbatch was written."""
    out = tmp_path / "s"
    assert sweep.main(["--param", "input.file=a\udcffb.csv,c.csv", "--out", str(out), "--slurm", "--dry-run", "--",
                       "--network.grid", "3x3"]) == 2
    assert "not valid UTF-8" in one_line(capsys)
    assert not out.exists()


def test_analyze_never_writes_its_json_over_a_run_it_reads(tmp_path, capsys):
    """The confirming hostile round: `seqlearn-analyze run.h5 --json run.h5` replaced the run
    with JSON (also through another spelling or a hard link)."""
    run = tmp_path / "run.h5"
    run.write_bytes(b"precious")
    os.link(run, tmp_path / "hard.h5")
    for target in (run, tmp_path / "." / "run.h5", tmp_path / "hard.h5"):
        assert analyze.main([str(run), "--json", str(target)]) == 2
        assert "is the run" in one_line(capsys)
        assert run.read_bytes() == b"precious"


def test_sigterm_to_a_local_sweep_stops_its_point_cleanly(program, tmp_path):
    """The last hostile round: SIGTERM to seqlearn-sweep ended it with 143 while its point ran on
    unattended, and left the point's .log.partial.* behind. Now the point stops cleanly (exit 3,
    checkpoint, output), its log is kept, and the sweep exits 3."""
    out = tmp_path / "s"
    env = {**os.environ, "SEQLEARN_BIN": program}
    proc = subprocess.Popen([sys.executable, os.path.join(TOOLS, "seqlearn-sweep"), "--param", "run.seed=1,2",
                             "--ranks", "1", "--out", str(out), "--", "--network.grid", "3x3",
                             "--run.protocol", "train:5000000", "--threads", "1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(out.glob("*.h5.lock")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert "stopped on request" in err
    assert (out / "run.seed=1.h5").is_file() and (out / "run.seed=1.ckpt.h5").is_file()
    assert (out / "run.seed=1.log").is_file() and not list(out.glob("*.partial*"))
    assert not (out / "run.seed=2.h5").exists()


def test_scaling_reports_what_the_ranks_work_is_made_of(tmp_path, capsys):
    """Issue 20: work inflation, imbalance, halo, ns per received word and bytes per rank beside
    the speedup, from the bench line's figures (jobs/lib.sh: exchange=NAME as a JSON string);
    a point of an older program without them shows '-'."""
    common = {"circuits": 65536, "synapses": 8.0e7, "compute_s": 1.0, "exchange_s": 0.1,
              "output_s": 0.1, "build_s": 1.0, "bytes_per_synapse": 30.0}
    points = {
        "np1": dict(common, ranks=1, simulate_s=10.0, rtf=33.3, compute_cpu_s_sum=10.0, compute_cpu_s_max=10.0,
                    exchange="allgather", halo=1.0, walk_ns_per_word=4.4, exchange_bytes_per_step=1000.0),
        "np4": dict(common, ranks=4, simulate_s=3.0, rtf=10.0, compute_cpu_s_sum=11.0, compute_cpu_s_max=3.3,
                    exchange="directed", halo=2.5, walk_ns_per_word=1.5, exchange_bytes_per_step=8000.0,
                    partition="tiles:2x2"),
        "np8": dict(common, ranks=8, simulate_s=2.0, rtf=6.7),
    }
    for name, point in points.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "timing.json").write_text(json.dumps(point))
    assert scaling.main([str(tmp_path), "--no-plot"]) == 0
    out = capsys.readouterr().out.splitlines()
    # An older program's point (no partition= in its bench line) ran on strips.
    assert [line.startswith("| 8 | allgather | strips | 65536 |") for line in out if line.startswith("| 8 ")] == [True]
    rows = [line for line in out if line.startswith("| 4 ")]
    assert rows == ["| 4 | directed | tiles:2x2 | 65536 | 8e+07 | 3.000 | 10.0000 | 3.33 | 83% | 1.000 | 0.100 | "
                    "0.100 | 1.000 | 1.100 | 1.200 | 2.50 | 1.50 | 2,000 | 30.0 |"]
    saved = json.loads((tmp_path / "sweep.json").read_text())["points"]
    assert saved[1]["work_inflation"] == pytest.approx(1.1) and saved[1]["imbalance"] == pytest.approx(1.2)
    assert saved[2]["work_inflation"] is None and saved[2]["halo"] is None
