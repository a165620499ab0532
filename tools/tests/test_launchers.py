"""Issue 17: the package installs with pip (python/pyproject.toml) and its console scripts answer;
the launchers tools/seqlearn-* find a Python with h5py, numpy and matplotlib whatever python3
comes first on PATH, and say so in one line when there is none."""
import os
import shutil
import subprocess
import sys

import pytest

TOOLS = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
ROOT = os.path.dirname(TOOLS)
DEBIAN_PYTHON = "/usr/bin/python3"
NAMES = ("analyze", "plot", "sweep", "join", "scaling")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SEQLEARN_PYTHON", "PYTHONHOME")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    """A folder whose python3 is a venv without system site packages: no h5py, no numpy."""
    folder = tmp_path_factory.mktemp("bare")
    subprocess.run([DEBIAN_PYTHON, "-m", "venv", "--without-pip", str(folder / "venv")], check=True)
    bin_dir = folder / "venv" / "bin"
    probe = subprocess.run([str(bin_dir / "python3"), "-c", "import h5py"], capture_output=True, env=clean_env())
    assert probe.returncode != 0, "the bare python3 must lack h5py"
    return bin_dir


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """pip install --no-build-isolation --no-index of a copy of ./python into a venv made with
    --system-site-packages (a copy: pip builds in the source folder)."""
    folder = tmp_path_factory.mktemp("venv")
    source = folder / "src"
    shutil.copytree(os.path.join(ROOT, "python"), source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    subprocess.run([DEBIAN_PYTHON, "-m", "venv", "--system-site-packages", str(folder / "env")], check=True)
    proc = subprocess.run([str(folder / "env" / "bin" / "pip"), "install", "-q", "--no-build-isolation", "--no-index",
                           str(source)], capture_output=True, text=True, env=clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return folder / "env"


@pytest.mark.parametrize("name", NAMES)
def test_pip_installed_console_scripts_answer_help(venv, name, tmp_path):
    proc = subprocess.run([str(venv / "bin" / f"seqlearn-{name}"), "--help"], capture_output=True, text=True,
                          cwd=tmp_path, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: seqlearn-{name}")


def test_pip_installed_package_is_the_installed_one(venv, tmp_path):
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", "import seqlearn, seqlearn.cli.sweep; print(seqlearn.__file__)"],
                          capture_output=True, text=True, cwd=tmp_path, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    assert str(venv) in proc.stdout and ROOT not in proc.stdout


@pytest.mark.parametrize("name", NAMES)
def test_launcher_with_a_bare_python3_first_on_path(bare, name, tmp_path):
    env = clean_env(PATH=f"{bare}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    # run directly (the shebang's python3 is the bare one) and through the bare python3 explicitly
    for command in ([os.path.join(TOOLS, f"seqlearn-{name}"), "--help"],
                    [str(bare / "python3"), os.path.join(TOOLS, f"seqlearn-{name}"), "--help"]):
        proc = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(f"usage: seqlearn-{name}"), proc.stdout


def test_launcher_honours_seqlearn_python_and_skips_a_useless_one(bare, tmp_path):
    env = clean_env(PATH=f"{bare}:/usr/bin:/bin", SEQLEARN_PYTHON=str(bare / "python3"))
    proc = subprocess.run([os.path.join(TOOLS, "seqlearn-analyze"), "--help"], capture_output=True, text=True,
                          cwd=tmp_path, env=env)
    assert proc.returncode == 0 and "usage: seqlearn-analyze" in proc.stdout


def launcher_without_last_resort(tmp_path, name="seqlearn-plot"):
    """A copy of a launcher (in a folder without the package) whose last resort, /usr/bin/python3,
    is absent: a machine with no Python that has the packages."""
    folder = tmp_path / "bin"
    folder.mkdir()
    text = open(os.path.join(TOOLS, name)).read()
    assert 'LAST_RESORT = "/usr/bin/python3"' in text
    (folder / name).write_text(text.replace('LAST_RESORT = "/usr/bin/python3"', f'LAST_RESORT = "{tmp_path}/absent"'))
    (folder / name).chmod(0o755)
    return folder / name


def test_launcher_with_no_usable_python_says_so_in_one_line(bare, tmp_path):
    launcher = launcher_without_last_resort(tmp_path)
    for extra in ({}, {"SEQLEARN_PYTHON": "$(touch PWNED)"}, {"SEQLEARN_PYTHON": "/nonexistent/python\nsecond line"},
                  {"SEQLEARN_PYTHON": "/dev/null"}, {"SEQLEARN_PYTHON": str(tmp_path)}):
        proc = subprocess.run([str(bare / "python3"), str(launcher), "--help"], capture_output=True, text=True,
                              cwd=tmp_path, env=clean_env(PATH=f"{bare}", **extra))
        assert proc.returncode == 2
        assert proc.stdout == ""
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("seqlearn-plot: no python3 with h5py"), proc.stderr
        assert "the seqlearn package (none beside this launcher)" in lines[0]  # hostile round: it named h5py only
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "PWNED").exists()


def test_install_layout_and_a_link_to_a_launcher(bare, tmp_path):
    """cmake --install puts the launchers in P/bin and the package in P/lib/seqlearn/python
    (cmake/install_extras.cmake); a link to a launcher (from ~/bin) still finds the package."""
    prefix = tmp_path / "P"
    (prefix / "bin").mkdir(parents=True)
    for name in NAMES:
        shutil.copy2(os.path.join(TOOLS, f"seqlearn-{name}"), prefix / "bin")
    shutil.copytree(os.path.join(ROOT, "python"), prefix / "lib" / "seqlearn" / "python",
                    ignore=shutil.ignore_patterns("__pycache__"))
    os.symlink(prefix / "bin" / "seqlearn-join", tmp_path / "my-join")
    env = clean_env(PATH=f"{bare}:/usr/bin:/bin")
    for command in ([str(prefix / "bin" / "seqlearn-sweep"), "--help"], [str(tmp_path / "my-join"), "--help"]):
        proc = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env)
        assert proc.returncode == 0, proc.stderr
    # the sweep of an install finds the installed program (P/bin/seqlearn_mpi), not the source tree's
    (prefix / "bin" / "seqlearn_mpi").write_text("")
    proc = subprocess.run([DEBIAN_PYTHON, "-c", "import seqlearn.cli.sweep as s, os; os.environ.pop('SEQLEARN_BIN', None); print(s.program())"],
                          capture_output=True, text=True, env=clean_env(PYTHONPATH=str(prefix / "lib" / "seqlearn" / "python")))
    assert proc.stdout.strip() == str(prefix / "bin" / "seqlearn_mpi"), proc.stderr


def test_the_package_edits_no_sys_path():
    for folder, _, files in os.walk(os.path.join(ROOT, "python", "seqlearn")):
        for name in files:
            if name.endswith(".py"):
                text = open(os.path.join(folder, name)).read()
                assert "sys.path" not in text, os.path.join(folder, name)
