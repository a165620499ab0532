"""Running seqlearn_mpi from Python (a notebook): seqlearn.run, seqlearn.restore.

The program is launched as scripts/launch.sh launches it (docs/parallel.md): mpirun with the
binding flags for R ranks x T threads, the OMP_* environment, `--threads T`; mpirun runs in its
own session, and a Ctrl-C (KeyboardInterrupt) is forwarded to it as SIGUSR2 (Open MPI's mpirun;
SIGTERM for MPICH's mpiexec.hydra), which the launcher passes to every rank once each has said
that its stop handlers are in place (SEQLEARN_READY_DIR): the ranks stop at the same step, write a checkpoint and a complete output, and
exit with code 3 (docs/checkpoint.md). Arguments go to the program as an argv list (never
through a shell), a value that starts with '-' as `--key=value`, so no value is read as an option.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

__all__ = ["run", "restore", "RunError", "RunInterrupted", "find_program", "launch_command"]

#: the program's exit code for a run stopped on request (SIGTERM/SIGINT/SIGUSR1/SIGUSR2)
EXIT_STOPPED = 3

_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*\Z")
# keys that run()/restore() set from their own arguments
_RESERVED = {
    "output": "output", "output.file": "output", "overwrite": "overwrite",
    "output.overwrite": "overwrite", "threads": "threads", "run.threads": "threads",
    "restore": "restore()", "config": "config", "help": None, "version": None,
}


class RunError(RuntimeError):
    """seqlearn_mpi (or its launch) failed. `message`: the program's one-line message (its last
    `seqlearn_mpi:` line, or a description of the failure); `returncode`: the exit code (2: bad
    input, 1: a failure while running; docs/errors.md); `output`: the last lines it printed;
    `command`: the argv that was run."""

    def __init__(self, message: str, returncode: int | None = None, output: str = "", command=None):
        super().__init__(message if returncode is None else f"{message} (exit code {returncode})")
        self.message = message
        self.returncode = returncode
        self.output = output
        self.command = command


class RunInterrupted(KeyboardInterrupt):
    """A KeyboardInterrupt (Ctrl-C) stopped the run. `checkpoint`: the checkpoint it wrote (None
    if none was written), `output`: the output file (complete, cut at the step it stopped),
    `returncode`: the program's exit code (3 for a clean stop), `message`: its last line.
    Continue with seqlearn.restore(e.checkpoint, NEW_OUTPUT)."""

    def __init__(self, message: str, checkpoint: str | None, output: str | None, returncode: int | None):
        super().__init__(message)
        self.message = message
        self.checkpoint = checkpoint
        self.output = output
        self.returncode = returncode


# --- finding the program -----------------------------------------------------------------


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_program(program: str | os.PathLike | None = None) -> str:
    """The seqlearn_mpi to run, as an absolute path: `program` if given, else $SEQLEARN_BIN,
    else `seqlearn_mpi` on PATH, else build/release/seqlearn_mpi of the source tree this package
    sits in. Raises FileNotFoundError naming what was tried."""
    if program is not None:
        path = os.fspath(program)
        if os.sep not in path and not os.path.exists(path):
            found = shutil.which(path)
            if found:
                return os.path.abspath(found)
        if not _executable(path):
            raise FileNotFoundError(f"seqlearn.run: program {path!r} is not an executable file")
        return os.path.abspath(path)
    tried = []
    env = os.environ.get("SEQLEARN_BIN")
    if env:
        if not _executable(env):
            raise FileNotFoundError(f"seqlearn.run: SEQLEARN_BIN={env!r} is not an executable file")
        return os.path.abspath(env)
    tried.append("$SEQLEARN_BIN (unset)")
    found = shutil.which("seqlearn_mpi")
    if found:
        return os.path.abspath(found)
    tried.append("seqlearn_mpi on PATH")
    tree = Path(__file__).resolve().parents[2] / "build" / "release" / "seqlearn_mpi"
    if _executable(str(tree)):
        return str(tree)
    tried.append(str(tree))
    raise FileNotFoundError("seqlearn.run: no seqlearn_mpi found (tried " + ", ".join(tried) +
                            "); build it (scripts/build.sh) or pass program=")


# --- the launch line (scripts/launch.sh) ----------------------------------------------------


def _cores() -> int:
    """Physical cores this process may run on (SEQLEARN_CORES overrides), as launch.sh counts."""
    text = os.environ.get("SEQLEARN_CORES", "")
    if text:
        # As scripts/launch.sh reads it: a decimal whole number, leading zeros dropped.
        if not re.fullmatch(r"[0-9]{1,18}", text) or not 1 <= int(text, 10) <= 1000000:
            raise ValueError(f"SEQLEARN_CORES must be a whole number from 1 to 1000000, got {text!r}")
        return int(text, 10)
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        base = f"/sys/devices/system/cpu/cpu{cpu}/topology/"
        try:
            with open(base + "core_id") as f1, open(base + "physical_package_id") as f2:
                cores.add((f2.read().strip(), f1.read().strip()))
        except OSError:
            cores.add(("cpu", str(cpu)))
    return max(1, len(cores))


def _count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or value > 1 << 20:
        raise ValueError(f"seqlearn.run: {name} must be an integer >= {minimum} (and at most 2^20), got {value!r}")
    return value


_KINDS: dict[str, str] = {}


def mpi_kind(mpirun: str) -> str:
    """"openmpi", "hydra" (MPICH's mpiexec) or "other", from `mpirun --version` (cached), as
    scripts/launch.sh tells them apart: their binding options and the stop signal they forward
    differ."""
    if mpirun not in _KINDS:
        try:
            text = subprocess.run([mpirun, "--version"], stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, errors="replace", timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            text = ""
        _KINDS[mpirun] = ("openmpi" if "Open MPI" in text or "OpenRTE" in text else
                          "hydra" if "HYDRA" in text or "Hydra" in text or "MPICH" in text else "other")
    return _KINDS[mpirun]


def stop_signal(mpirun: str) -> signal.Signals:
    """The signal that stops a run cleanly through this launcher: Open MPI's mpirun forwards
    SIGUSR2 (not SIGTERM, which it answers by killing the job); MPICH's hydra forwards SIGTERM
    and dies of SIGUSR2, leaving its ranks running (measured, MPICH 4.0.2)."""
    return signal.SIGTERM if mpi_kind(mpirun) == "hydra" else signal.SIGUSR2


def launch_command(ranks: int, threads: int, mpirun: str = "mpirun", env: dict | None = None):
    """(argv prefix, environment, threads) for R ranks x T threads, as scripts/launch.sh builds
    them: R x T <= cores: OMP_PROC_BIND=close OMP_PLACES=cores, mpirun --map-by slot:PE=T
    --bind-to core; more: OMP_PROC_BIND=false OMP_WAIT_POLICY=passive, mpirun --oversubscribe
    --bind-to none. T = 0: the cores shared out (at least 1). As root, the Open MPI run-as-root
    variables are set."""
    ranks = _count("ranks", ranks, 1)
    threads = _count("threads", threads, 0)
    env = dict(os.environ if env is None else env)
    cores = _cores()
    if threads == 0:
        threads = max(1, cores // ranks)
    env["OMP_NUM_THREADS"] = str(threads)
    kind = mpi_kind(mpirun)
    argv = [mpirun, "-n", str(ranks)]
    if ranks * threads <= cores:
        env.pop("OMP_WAIT_POLICY", None)
        env.update(OMP_PROC_BIND="close", OMP_PLACES="cores")
        argv += {"openmpi": ["--map-by", f"slot:PE={threads}", "--bind-to", "core"],
                 "hydra": ["-bind-to", f"core:{threads}"]}.get(kind, [])
    else:
        env.pop("OMP_PLACES", None)
        env.update(OMP_PROC_BIND="false", OMP_WAIT_POLICY="passive")
        argv += {"openmpi": ["--oversubscribe", "--bind-to", "none"],
                 "hydra": ["-bind-to", "none"]}.get(kind, [])
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return argv, env, threads


# --- arguments -----------------------------------------------------------------------------


def _value_text(key: str, value) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (list, tuple)):
        text = ",".join(_value_text(key, v) for v in value)
    elif isinstance(value, os.PathLike):
        text = os.fspath(value)
    else:
        text = str(value)
    if isinstance(text, bytes):
        raise ValueError(f"seqlearn.run: override {key!r}: bytes are not accepted, pass text")
    if "\0" in text:
        raise ValueError(f"seqlearn.run: override {key!r}: the value holds a NUL character")
    return text


def _arguments(overrides) -> list[str]:
    """The program's arguments for `overrides`, keys checked."""
    if overrides is None:
        return []
    if not hasattr(overrides, "items"):
        raise TypeError(f"seqlearn.run: overrides must be a dict of key -> value, got {type(overrides).__name__}")
    args = []
    for key, value in overrides.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise ValueError(f"seqlearn.run: override key {key!r} is not a key name (SECTION.KEY, letters, "
                             "digits, '_'; no '=', no leading '-')")
        if key in _RESERVED:
            what = _RESERVED[key]
            raise ValueError(f"seqlearn.run: override {key!r} is not allowed here" +
                             (f"; use the {what} argument" if what else ""))
        text = _value_text(key, value)
        if key not in PATH_KEYS and any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
            raise ValueError(f"seqlearn.run: override {key!r}: the value {text!r} holds a control character "
                             "(a newline, tab, ...); only file names may")
        # --key=value where the value could read as an option (a leading '-'); an empty value
        # as two arguments (the program refuses '--key='); else two arguments, which keeps
        # the program's messages naming the key alone
        args += [f"--{key}={text}"] if text.startswith("-") else [f"--{key}", text]
    return args


#: keys naming files the program reads: each must be a regular file (a FIFO would hang the
#: program's open(), a device be read without end; issue 18 D5)
INPUT_FILE_KEYS = ("input.file", "input.label_file", "validation.forced_spikes")


def _check_files(overrides, output: str, overwrite: bool, extra_inputs=()):
    """Inputs named in `overrides` are regular files (made absolute); output.checkpoint_file
    follows the output's rule; no input is also the output or the checkpoint file."""
    if not overrides:
        return overrides
    overrides = dict(overrides)
    inputs = list(extra_inputs)
    for key in INPUT_FILE_KEYS:
        value = overrides.get(key)
        if value is None or (isinstance(value, str) and value == ""):
            continue
        path = _input_path(key, value)
        if not os.path.isfile(path):
            what = "missing" if not os.path.lexists(path) else "not a regular file"
            raise FileNotFoundError(f"seqlearn.run: {key} {path!r} is {what}")
        overrides[key] = path
        inputs.append((key, path))
    written = [("output", output)]
    checkpoint = overrides.get("output.checkpoint_file")
    if checkpoint not in (None, ""):
        checkpoint = _input_path("output.checkpoint_file", checkpoint)
        if checkpoint == output:
            raise ValueError("seqlearn.run: output.checkpoint_file is the output file")
        _check_output(checkpoint, overwrite, "output.checkpoint_file")
        overrides["output.checkpoint_file"] = checkpoint
        written.append(("output.checkpoint_file", checkpoint))
    for key, path in inputs:
        for what, target in written:
            if os.path.abspath(path) == target or (os.path.exists(target) and os.path.samefile(path, target)):
                raise ValueError(f"seqlearn.run: {key} {path!r} is also the {what}: it would be replaced")
    return overrides


#: keys whose values are file names (which may hold any character but NUL)
PATH_KEYS = INPUT_FILE_KEYS + ("output.checkpoint_file",)


def _input_path(name: str, path) -> str:
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text or "\0" in text:
        raise ValueError(f"seqlearn.run: {name} {path!r} is not a path")
    return os.path.abspath(text)


def _check_output(path: str, overwrite: bool, name: str = "output"):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not overwrite:
        raise FileExistsError(f"seqlearn.run: {name} {path!r} exists; pass overwrite=True to replace it")
    if not stat.S_ISREG(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        raise FileExistsError(f"seqlearn.run: {name} {path!r} is {kind}; only a regular file is replaced, "
                              "even with overwrite=True")


# --- running -------------------------------------------------------------------------------

_STOP_LINE = re.compile(r"checkpoint written to (.*) and output to (.*)\.\s*$")


def _echo_to_stdout(line: str):
    sys.stdout.write(line)
    sys.stdout.flush()


#: a callable(Popen) called once the program started (tests use it to inject a KeyboardInterrupt)
_on_start = None


def _set_on_start(hook):
    global _on_start
    _on_start = hook


def _ready_ranks(folder: str) -> int:
    try:
        return sum(1 for name in os.listdir(folder) if name.startswith("ready."))
    except OSError:
        return 0


def _execute(argv, env, progress, wait_interval: float = 0.2, ranks: int = 1,
             stop: signal.Signals = signal.SIGUSR2):
    """Runs argv in its own session; streams its merged stdout/stderr lines to `progress`;
    forwards a KeyboardInterrupt as SIGUSR2. Returns (exit code, lines, interrupted).

    A rank that gets SIGUSR2 before its handlers are in place dies of it (exit 140, nothing
    written; docs/design.md "Files"), so the stop is held back until every rank has created
    SEQLEARN_READY_DIR/ready.PID (the program does, once its handlers are installed)."""
    ready_dir = tempfile.mkdtemp(prefix="seqlearn-ready-")
    env = dict(env, SEQLEARN_READY_DIR=ready_dir)
    try:
        return _execute_in(argv, env, progress, wait_interval, ranks, ready_dir, stop)
    finally:
        shutil.rmtree(ready_dir, ignore_errors=True)


def _raise_interrupt(number, frame):
    raise KeyboardInterrupt


def _execute_in(argv, env, progress, wait_interval, ranks, ready_dir, stop):
    # SIGTERM and SIGHUP to this Python (a scheduler, `timeout`, a closing notebook server) stop
    # the run as Ctrl-C does: the launcher runs in its own session and would otherwise go on
    # unattended.
    previous = {}
    try:
        for number in (signal.SIGTERM, signal.SIGHUP):
            previous[number] = signal.signal(number, _raise_interrupt)
    except ValueError:  # not the main thread: only Ctrl-C
        pass
    try:
        return _execute_watched(argv, env, progress, wait_interval, ranks, ready_dir, stop)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _execute_watched(argv, env, progress, wait_interval, ranks, ready_dir, stop):
    lines: list[str] = []
    try:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    except OSError as error:  # E2BIG (arguments too long), ENOEXEC, ...
        raise RunError(f"seqlearn.run: cannot start {argv[0]}: {error.strerror or error}", None, "", argv) from None

    def pump():
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace")
            lines.append(line)
            if len(lines) > 2000:
                del lines[:1000]
            if progress is not None:
                try:
                    progress(line)
                except Exception:  # a broken callback must not hang the run
                    pass

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    interrupted = 0
    held_back = False  # a stop asked for before every rank could take it
    held_since = 0.0
    while True:
        try:
            if _on_start is not None:  # (tests: inject a KeyboardInterrupt once the run is under way)
                hook, proc_ = _on_start, proc
                _set_on_start(None)
                hook(proc_)
            # (at most 10 s: a program that never says it is ready gets the stop anyway)
            if held_back and (_ready_ranks(ready_dir) >= ranks or time.monotonic() - held_since > 10):
                held_back = False
                try:
                    os.kill(proc.pid, stop)
                except ProcessLookupError:
                    pass
            code = proc.wait(timeout=0.02 if held_back else wait_interval)
            break
        except subprocess.TimeoutExpired:
            continue
        except KeyboardInterrupt:
            # 1st and 2nd Ctrl-C: the launcher's stop signal (SIGUSR2 for Open MPI, SIGTERM for
            # MPICH's hydra: a clean stop, checkpoint, output, exit 3); 3rd: SIGTERM to mpirun
            # (Open MPI kills the job in about 2 s); later: SIGKILL to its group.
            interrupted += 1
            how = stop if interrupted <= 2 else signal.SIGTERM if interrupted == 3 else signal.SIGKILL
            if progress is not None:
                progress(f"seqlearn.run: stop requested: forwarding it to the ranks as {stop.name} "
                         f"(mpirun {proc.pid}); they write a checkpoint and the output (Ctrl-C twice more "
                         "kills the run)\n" if interrupted <= 2 else
                         f"seqlearn.run: killing the run ({how.name} to mpirun {proc.pid})\n")
            if interrupted <= 2 and _ready_ranks(ready_dir) < ranks:
                held_back, held_since = True, time.monotonic()  # sent by the loop above
                continue
            try:
                if how == signal.SIGKILL:
                    os.killpg(proc.pid, how)
                else:
                    os.kill(proc.pid, how)
            except ProcessLookupError:
                pass
    reader.join(timeout=10)
    return code, lines, interrupted


_NOT_MESSAGE = ("seqlearn_mpi", "-----", "Primary job", "mpirun", "Resume with", "a non-zero exit code")


def _message(lines) -> str:
    """The program's last `seqlearn_mpi:` line, with the lines a file name's newlines broke it
    into joined back as '\\n' (one line)."""
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("seqlearn_mpi:"):
            parts = [lines[i].rstrip("\n")]
            for line in lines[i + 1:]:
                if not line.strip() or line.startswith(_NOT_MESSAGE):
                    break
                parts.append(line.rstrip("\n"))
            return "\\n".join(parts).strip()
    tail = [x.strip() for x in lines if x.strip()]
    return tail[-1] if tail else "no output"


def _launch(program_args, output, ranks, threads, program, mpirun, progress, overwrite, checkpoint_default):
    exe = find_program(program)
    mpirun_exe = shutil.which(mpirun) if os.sep not in mpirun else mpirun
    if not mpirun_exe or not _executable(mpirun_exe):
        raise FileNotFoundError(f"seqlearn.run: no {mpirun!r} found (an MPI launcher; pass mpirun=)")
    prefix, env, threads = launch_command(ranks, threads, os.path.abspath(mpirun_exe))
    argv = prefix + [exe, f"--threads={threads}"] + program_args + [f"--output={output}"]
    if overwrite:
        argv.append("--overwrite")
    if progress is None or progress is True:
        progress = _echo_to_stdout
    elif progress is False:
        progress = None
    elif not callable(progress):
        raise TypeError("seqlearn.run: progress must be True, False, None or a callable taking a line")
    code, lines, interrupted = _execute(argv, env, progress, ranks=ranks,
                                       stop=stop_signal(os.path.abspath(mpirun_exe)))
    if interrupted:
        checkpoint = None
        for line in reversed(lines):
            match = _STOP_LINE.search(line)
            if match:
                checkpoint = match.group(1)
                break
        if checkpoint is None and code == EXIT_STOPPED and os.path.isfile(checkpoint_default):
            checkpoint = checkpoint_default
        if checkpoint is not None:
            checkpoint = os.path.abspath(checkpoint)
        done = os.path.isfile(output)
        raise RunInterrupted(
            f"seqlearn.run: stopped (exit code {code}); checkpoint {checkpoint or 'not written'}; "
            f"output {output if done else 'not written'}" +
            (f"; continue with seqlearn.restore({checkpoint!r}, NEW_OUTPUT)" if checkpoint else ""),
            checkpoint, output if done else None, code)
    if code != 0:
        raise RunError(_message(lines), code, "".join(lines[-50:]), argv)
    if not os.path.isfile(output):
        raise RunError(f"seqlearn.run: {exe} exited with code 0 but wrote no output {output!r} (is it "
                       "seqlearn_mpi?)", code, "".join(lines[-50:]), argv)
    from . import open as open_run

    return open_run(output)


def _checkpoint_default(output: str, overrides) -> str:
    given = (overrides or {}).get("output.checkpoint_file")
    if given:
        return os.path.abspath(os.fspath(given))
    root, ext = os.path.splitext(output)
    return (root if ext == ".h5" else output) + ".ckpt.h5"


def run(output, config=None, overrides=None, ranks: int = 1, threads: int = 1, program=None,
        overwrite: bool = False, progress=None, mpirun: str = "mpirun"):
    """Runs seqlearn_mpi on `ranks` MPI ranks x `threads` OpenMP threads and returns the opened
    output (a seqlearn.Run, as seqlearn.open gives).

    output     the output file; an existing one is refused (FileExistsError) unless
               overwrite=True, and even then only a regular file is replaced
    config     an INI file (--config)
    overrides  {"network.grid": "3x3", "run.protocol": "train:100", ...}: each as --KEY=VALUE
               (bool as true/false, a list/tuple joined with ','); keys are SECTION.KEY names
    program    the seqlearn_mpi to run (default: $SEQLEARN_BIN, PATH, build/release of the tree)
    progress   None/True: the program's lines to sys.stdout; False: quiet; a callable: called
               with each line
    Raises RunError (message = the program's one-line message, returncode) on failure, and
    RunInterrupted (a KeyboardInterrupt with .checkpoint and .output) when Ctrl-C stopped it:
    the ranks write a checkpoint and the output and exit with code 3."""
    output = _input_path("output", output)
    _arguments(overrides)  # keys checked before any file is looked at
    _check_output(output, overwrite)
    overrides = _check_files(overrides, output, overwrite)
    args = _arguments(overrides)
    if config is not None:
        config = _input_path("config", config)
        if not os.path.isfile(config):
            raise FileNotFoundError(f"seqlearn.run: config {config!r} is not a regular file")
        args = [f"--config={config}"] + args
    return _launch(args, output, ranks, threads, program, mpirun, progress, overwrite,
                   _checkpoint_default(output, overrides))


def restore(checkpoint, output, overrides=None, ranks: int = 1, threads: int = 1, program=None,
            overwrite: bool = False, progress=None, mpirun: str = "mpirun"):
    """Continues a checkpoint (--restore) into a new `output`, on any number of ranks and
    threads: the remaining protocol, or {"run.protocol": ...} in `overrides` for new phases
    (docs/checkpoint.md). Otherwise as seqlearn.run."""
    checkpoint = _input_path("checkpoint", checkpoint)
    if not os.path.isfile(checkpoint):
        raise FileNotFoundError(f"seqlearn.restore: checkpoint {checkpoint!r} is not a regular file")
    output = _input_path("output", output)
    if output == checkpoint:
        raise ValueError("seqlearn.restore: output and checkpoint are the same file")
    _arguments(overrides)
    _check_output(output, overwrite)
    overrides = _check_files(overrides, output, overwrite, [("checkpoint", checkpoint)])
    args = [f"--restore={checkpoint}"] + _arguments(overrides)
    prior = _checkpoint_learning_steps(checkpoint)
    try:
        opened = _launch(args, output, ranks, threads, program, mpirun, progress, overwrite,
                         _checkpoint_default(output, overrides))
    except RunInterrupted as stop:
        if stop.output and prior is not None:
            _record_prior(stop.output, prior)
        raise
    if prior is not None and "prior_learning_steps" not in opened.info:
        path = opened.path
        opened.close()
        _record_prior(path, prior)
        from . import open as open_run

        opened = open_run(path)
    return opened


def _record_prior(path: str, prior: int):
    """The program does not record the training done before the checkpoint in the output (the
    analysis counts it: "after X s"); add it as /run prior_learning_steps (steps), as the
    program should (docs/output.md)."""
    import h5py

    with h5py.File(path, "r+") as f:
        if "run" in f and "prior_learning_steps" not in f["run"].attrs:
            f["run"].attrs["prior_learning_steps"] = float(prior)
            if "units" in f["run"]:
                f["run/units"].attrs["prior_learning_steps"] = "steps"


def _checkpoint_learning_steps(checkpoint: str):
    """/checkpoint learning_steps of a checkpoint (steps trained before it), None if unreadable."""
    try:
        import h5py

        with h5py.File(checkpoint, "r") as f:
            return int(f["checkpoint"].attrs["learning_steps"])
    except Exception:  # the program says what is wrong with a checkpoint
        return None
