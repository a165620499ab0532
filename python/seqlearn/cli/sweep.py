"""seqlearn-sweep: parameter sweeps (a grid of runs), locally or as one SLURM array job.

  seqlearn-sweep --param KEY=V1,V2,... [--param ...] --out DIR [--ranks R] [--threads T]
                 [--slurm [--dry-run]] [--overwrite] -- [seqlearn_mpi arguments]
  seqlearn-sweep --collect DIR

Runs every point of the grid (the product of the --param lists), one output per point named
by its values: DIR/plasticity.learning_rate=0.05,run.seed=2.h5 (characters other than
letters, digits and . _ + - become _). Values are split at commas, or at | where the list
has one (--param 'input.t_pattern=300,200|300'). Locally the points run one after another
under mpirun -np R (SEQLEARN_MPIRUN: another launcher, R appended, split as a shell would
without expansion; an unbalanced quote is refused, exit 2, before anything is written); the
program is $SEQLEARN_BIN, else build/release/seqlearn_mpi. --slurm writes DIR/sweep.sbatch,
one array job (sbatch --array=0-(N-1)), each task running one point with srun on R tasks of T
cores (jobs/lib.sh: SEQLEARN_LAUNCHER split by its quoting rule); the task takes
SLURM_ARRAY_TASK_ID only as a decimal number of a point (else exit 2). --dry-run prints the
sbatch command and the script instead of submitting.
DIR/sweep.json records the swept keys and the points.

--collect analyses every point (seqlearn-analyze's measures; RUN.analysis.json beside each)
and writes DIR/summary.csv: one row per point, the swept keys, its status (done, interrupted,
missing: no output file, unreadable: an output that is not a readable seqlearn file, e.g.
truncated), the reason for missing and unreadable points, then the measures. summary.csv is
written whatever the points' states; the exit status is then 1 if any point is missing or
unreadable, else 0.

Exit status 2 (nothing run) for bad --param syntax, keys the program does not know (its
--help lists them), points named twice, outputs that exist without --overwrite, program
arguments that set the output per point (--output, --output=F, --output.file[=F] and their
abbreviations, --output.checkpoint_file), an --out that is not a folder (a file, a link),
a point output that is a link, FIFO, device or folder (even with --overwrite), or a DIR that
holds another sweep (other keys or program arguments: --new-sweep replaces its sweep.json;
the same sweep's points are merged). --slurm refuses control characters (a newline) and
bytes that are not UTF-8 in any path or value written into sweep.sbatch, and quotes every one (shlex.quote; #SBATCH lines
in double quotes). --collect writes summary.csv also when sweep.json is unreadable (the
points then come from DIR's file names, exit 1) or an analysis JSON is truncated (analysed
again); manifest names that are not KEY=VALUE,... (../x, /abs) are marked refused and never
read. Every file is read only when it is a regular file and written under a fresh name then
renamed (python/seqlearn/safe_io.py).
"""
import argparse
import csv
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys

from ..safe_io import AtomicOutput, Refused, check_output, open_input, output_folder, write_text

# Where the program and jobs/lib.sh are: the source tree (this package at ROOT/python/seqlearn)
# or a cmake install (P/lib/seqlearn/python/seqlearn: P/bin, P/share/seqlearn); a pip-installed
# package has neither and uses SEQLEARN_BIN / seqlearn_mpi on PATH, SEQLEARN_ROOT for the jobs.
_package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
SOURCE_ROOT = os.path.normpath(os.path.join(_package, "..", ".."))
INSTALL_PREFIX = os.path.normpath(os.path.join(_package, "..", "..", "..", ".."))


def jobs_root():
    """The folder holding jobs/lib.sh: SEQLEARN_ROOT, the source tree or P/share/seqlearn."""
    for root in (os.environ.get("SEQLEARN_ROOT"), SOURCE_ROOT, os.path.join(INSTALL_PREFIX, "share", "seqlearn")):
        if root and os.path.isfile(os.path.join(root, "jobs", "lib.sh")):
            return os.path.abspath(root)
    raise Refusal("no jobs/lib.sh (the source tree's or an install's share/seqlearn); set SEQLEARN_ROOT")


MANIFEST = "sweep.json"
UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


Refusal = Refused  # a one-line refusal: exit 2 (python/seqlearn/safe_io.py)

#: a point's name as point_name makes it: KEY=VALUE pairs, no '/', never '.' or '..'
POINT_NAME = re.compile(r"[a-z_]+\.[a-z_0-9]+=[A-Za-z0-9._+-]+(,[a-z_]+\.[a-z_0-9]+=[A-Za-z0-9._+-]+)*")
#: program arguments the sweep sets per point: --output, --output.file and the abbreviations
#: the program accepts (--output.f ...), with a value or =VALUE; the checkpoint file likewise
PER_POINT = re.compile(r"--output(\.f(i(le?)?)?|\.c(h(e(c(k(p(o(i(n(t(_(f(i(le?)?)?)?)?)?)?)?)?)?)?)?)?)?)?(=.*)?", re.S)


def program():
    if os.environ.get("SEQLEARN_BIN"):
        return os.environ["SEQLEARN_BIN"]
    for candidate in (os.path.join(INSTALL_PREFIX, "bin", "seqlearn_mpi"),  # a cmake install's P/bin
                      os.path.join(SOURCE_ROOT, "build", "release", "seqlearn_mpi")):
        if os.path.isfile(candidate):
            return candidate
    return shutil.which("seqlearn_mpi") or os.path.join(SOURCE_ROOT, "build", "release", "seqlearn_mpi")


def known_keys(binary):
    """SECTION.KEY names from the program's --help."""
    try:
        text = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=60).stdout
    except OSError as error:
        raise Refusal(f"cannot run {binary} --help ({error}); set SEQLEARN_BIN")
    keys = set(re.findall(r"^\s+--([a-z_]+\.[a-z_0-9]+)\b", text, re.M))
    if not keys:
        raise Refusal(f"{binary} --help lists no SECTION.KEY options")
    return keys


def parse_param(text):
    if "=" not in text:
        raise Refusal(f"--param {text!r}: expected KEY=V1,V2,...")
    key, values = text.split("=", 1)
    key = key.strip().lstrip("-")
    if not re.fullmatch(r"[a-z_]+\.[a-z_0-9]+", key):
        raise Refusal(f"--param {text!r}: {key!r} is not a SECTION.KEY name")
    values = [v.strip() for v in values.split("|" if "|" in values else ",")]
    if not values or any(v == "" for v in values):
        raise Refusal(f"--param {text!r}: an empty value (expected KEY=V1,V2,...)")
    if len(set(values)) != len(values):
        raise Refusal(f"--param {text!r}: a value given twice")
    return key, values


def point_name(point):
    """File name stem of a point: KEY=VALUE pairs joined by commas, unsafe characters as _."""
    return ",".join(f"{key}={UNSAFE.sub('_', value)}" for key, value in point)


def plan(params, out):
    keys = [k for k, _ in params]
    if len(set(keys)) != len(keys):
        raise Refusal("a key swept twice: " + ", ".join(sorted({k for k in keys if keys.count(k) > 1})))
    points = [list(zip(keys, combo)) for combo in itertools.product(*(v for _, v in params))]
    names = [point_name(p) for p in points]
    if len(set(names)) != len(names):
        raise Refusal("two points get the same file name (values differing only in characters "
                      "other than letters, digits and . _ + -)")
    if out.startswith("-"):  # never read as an option by the program
        out = os.path.join(".", out)
    return [{"name": n, "output": os.path.join(out, n + ".h5"), "values": dict(p)} for n, p in zip(names, points)]


def point_args(point, extra, threads):
    args = list(extra)
    for key, value in point["values"].items():  # --KEY=VALUE when VALUE starts with '-' (-1, -x.csv)
        args += [f"--{key}={value}"] if value.startswith("-") else [f"--{key}", value]
    if threads is not None:
        args += ["--threads", str(threads)]
    return args + ["--output", point["output"]]


def read_manifest(folder):
    """DIR/sweep.json as written by write_manifest, or Refused (one line) when it is absent,
    not a regular file, not JSON or not of that shape."""
    path = os.path.join(folder, MANIFEST)
    if not os.path.lexists(path):
        raise Refused(f"no {MANIFEST} in {folder} (not a seqlearn-sweep folder)")
    try:
        with open_input(path) as f:
            manifest = json.load(f)
    except (ValueError, UnicodeDecodeError, OSError) as error:
        raise Refused(f"{path} is not readable JSON ({' '.join(str(error).split())})") from None
    keys = manifest.get("keys") if isinstance(manifest, dict) else None
    points = manifest.get("points") if isinstance(manifest, dict) else None
    if not (isinstance(keys, list) and all(isinstance(k, str) and re.fullmatch(r"[a-z_]+\.[a-z_0-9]+", k) for k in keys)
            and len(set(keys)) == len(keys) and isinstance(points, list)
            and all(isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("values"), dict)
                    for p in points)):
        raise Refused(f"{path} does not hold a sweep (keys and points)")
    return manifest


def write_manifest(out, params, points, args):
    """DIR/sweep.json. A folder that holds another sweep (other keys or program arguments, or an
    unreadable sweep.json) is refused unless --new-sweep; the same sweep's points are merged."""
    keys = [k for k, _ in params]
    path = os.path.join(out, MANIFEST)
    replace = os.path.lexists(path)
    if replace and not args.new_sweep:
        try:
            old = read_manifest(out)
        except Refused as refusal:
            raise Refused(f"{refusal}; --new-sweep replaces it") from None
        if old["keys"] != keys or old.get("args") != args.program_args:
            raise Refused(f"{out} holds another sweep (keys {', '.join(old['keys'])}; program arguments "
                          f"{' '.join(map(str, old.get('args') or [])) or 'none'}): use another --out, or "
                          "--new-sweep to replace its sweep.json")
        names = {p["name"] for p in points}
        points = [p for p in old["points"] if p["name"] not in names and POINT_NAME.fullmatch(p["name"])] + points
    text = json.dumps({"keys": keys, "params": dict(params), "args": args.program_args, "ranks": args.ranks,
                       "threads": args.threads, "points": points}, indent=2)
    write_text(path, text, overwrite=replace)


def mpirun():
    """SEQLEARN_MPIRUN split as a shell would, without expansion (default, or empty: mpirun -np);
    Refused (one line naming it) for an unbalanced quote, a trailing backslash or no word."""
    value = os.environ.get("SEQLEARN_MPIRUN") or "mpirun -np"
    try:
        words = shlex.split(value)
    except ValueError as error:
        raise Refused(f"SEQLEARN_MPIRUN {ascii(value)} does not split into words ({str(error).lower()}): "
                      "quote as in a shell, e.g. \"'/opt/my mpi/bin/mpirun' -np\"") from None
    if not words:
        raise Refused(f"SEQLEARN_MPIRUN {ascii(value)} names no launcher (unset it for mpirun -np)")
    if shutil.which(words[0]) is None:
        raise Refused(f"SEQLEARN_MPIRUN {ascii(value)}: no launcher {ascii(words[0])} (not an executable "
                      "file, nor a program on PATH)")
    return words


def _run_point(command, out_fd, env, launcher):
    """Runs one point in its own session. A stop request to the sweep (Ctrl-C, SIGTERM, SIGHUP)
    is passed on as the launcher's clean stop (runner.stop_signal: the ranks write a checkpoint
    and the output) and waited for, so no point is left running unattended. (exit code, stopped)"""
    from .. import runner

    def stop(number, frame):
        raise KeyboardInterrupt
    previous = {}
    try:
        for number in (signal.SIGTERM, signal.SIGHUP):
            previous[number] = signal.signal(number, stop)
    except ValueError:  # not the main thread: only Ctrl-C
        pass
    try:
        proc = subprocess.Popen(command, stdout=out_fd, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        try:
            return proc.wait(), False
        except KeyboardInterrupt:
            print("seqlearn-sweep: stop requested: stopping the running point cleanly", file=sys.stderr)
            try:
                os.kill(proc.pid, runner.stop_signal(shutil.which(launcher) or launcher))
            except ProcessLookupError:
                pass
            return proc.wait(), True
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_local(points, args, binary):
    launcher = mpirun()
    env = dict(os.environ)
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    env.setdefault("OMP_NUM_THREADS", str(args.threads or 1))
    failed = 0
    for i, point in enumerate(points):
        command = launcher + [str(args.ranks), binary] + point_args(point, args.program_args, args.threads)
        if args.overwrite:
            command.append("--overwrite")
        log = os.path.splitext(point["output"])[0] + ".log"
        print(f"seqlearn-sweep: [{i + 1}/{len(points)}] {point['name']}", flush=True)
        with AtomicOutput(log, overwrite=True) as f:  # renamed to POINT.log when the point ends
            rc, stopped = _run_point(command, f.fd, env, launcher[0])
        if stopped:
            print(f"seqlearn-sweep: stopped on request during {point['name']} (its exit code {rc}; "
                  f"see {log}); the points after it did not run", file=sys.stderr)
            return 3
        if rc != 0:
            failed += 1
            print(f"seqlearn-sweep: {point['name']} failed (exit {rc}); see {log}", file=sys.stderr)
    print(f"seqlearn-sweep: {len(points) - failed} of {len(points)} points done in {args.out}; "
          f"next: seqlearn-sweep {collect_arg(args.out)}")
    return 1 if failed else 0


def script_safe(value, what):
    """A value written into sweep.sbatch: no control characters (a newline would end a
    #SBATCH line or a quoted word and start a command)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in str(value)):
        raise Refused(f"{what} {ascii(str(value))} holds a newline or another control character: "
                      "refused in a generated script")
    if any(0xDC80 <= ord(c) <= 0xDCFF for c in str(value)):  # a byte of the command line that is not UTF-8
        raise Refused(f"{what} {ascii(str(value))} is not valid UTF-8: refused in a generated script")
    return value


def sbatch_word(value):
    """A value of an #SBATCH line (read by sbatch, not bash, which takes double quotes only):
    as it is when plain, else in double quotes; '"' and '\\' in it are refused."""
    if re.fullmatch(r"[A-Za-z0-9_./%+=:,@-]+", value):
        return value
    if '"' in value or "\\" in value:
        raise Refused(f"--out {ascii(value)} holds a double quote or a backslash: refused in an #SBATCH line")
    return f'"{value}"'


def slurm_script(points, args, binary):
    out = os.path.abspath(args.out)
    root = jobs_root()
    for value, what in ((out, "--out"), (root, "the jobs folder"), (os.path.abspath(binary), "the program")):
        script_safe(value, what)
    for point in points:
        for a in point_args(point, args.program_args, None):
            script_safe(a, "the argument")
    lines = [
        "#!/bin/bash",
        f"# seqlearn parameter sweep: {len(points)} points, one per array task (tools/seqlearn-sweep).",
        "#SBATCH --job-name=seqlearn-sweep",
        f"#SBATCH --array=0-{len(points) - 1}",
        f"#SBATCH --ntasks={args.ranks}",
        f"#SBATCH --cpus-per-task={args.threads or 1}",
        "#SBATCH --time=01:00:00",
        "#SBATCH --signal=TERM@120",
        f"#SBATCH --output={sbatch_word(out + '/slurm-%A_%a.out')}",
        "##SBATCH --partition=PARTITION",
        "##SBATCH --account=ACCOUNT",
        "set -euo pipefail",
        f"export SEQLEARN_ROOT={shlex.quote(root)} SEQLEARN_BIN={shlex.quote(os.path.abspath(binary))}",
        'source "$SEQLEARN_ROOT/jobs/lib.sh"',
        "points=(",
    ]
    for point in points:
        lines.append("  " + shlex.quote(" ".join(shlex.quote(a) for a in point_args(point, args.program_args, None))
                                        + (" --overwrite" if args.overwrite else "")))
    lines += [
        ")",
        "# The task's number, matched as a decimal before any use (never an arithmetic expression).",
        f'task=$(seqlearn_uint SLURM_ARRAY_TASK_ID "${{SLURM_ARRAY_TASK_ID:-}}" 0 {len(points) - 1}) || exit 2',
        "# points[] holds this script's own words, quoted by shlex.quote: nothing of the environment",
        "args=()",
        'eval "args=(${points[task]})"',
        "threads=(--threads \"$SEQLEARN_THREADS\")",
        "# seqlearn_launcher: SEQLEARN_LAUNCHER split by jobs/lib.sh's quoting rule, else srun's line",
        '"${seqlearn_launcher[@]}" "$SLURM_NTASKS" "$SEQLEARN_BIN" "${threads[@]}" "${args[@]}"',
        "",
    ]
    return "\n".join(lines)


def collect_arg(out):
    return f"--collect={shlex.quote(out)}" if out.startswith("-") else f"--collect {shlex.quote(out)}"


def submit(points, args, script):
    path = os.path.join(args.out, "sweep.sbatch")
    command = ["sbatch", path]
    write_text(path, script, overwrite=True)
    if args.dry_run:
        print("# " + " ".join(shlex.quote(c) for c in command))
        print(script, end="")
        return 0
    proc = subprocess.run(command, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode == 0:
        print(f"seqlearn-sweep: {len(points)} points submitted as one array job ({path}); "
              f"when it is done: seqlearn-sweep {collect_arg(args.out)}")
    return proc.returncode


def discover_points(folder):
    """The points of a sweep whose sweep.json is unreadable: DIR's KEY=VALUE,....h5 files."""
    keys, points = [], []
    for name in sorted(os.listdir(folder)):
        stem = name[:-3] if name.endswith(".h5") else None
        if stem and POINT_NAME.fullmatch(stem):
            values = dict(pair.split("=", 1) for pair in stem.split(","))
            keys += [k for k in values if k not in keys]
            points.append({"name": stem, "values": values})
    return keys, points


def cached_result(path, json_path, version):
    """RUN.analysis.json when it is a regular file newer than the run, complete JSON of this
    analysis version; None otherwise (then the run is analysed again)."""
    if not os.path.lexists(json_path):
        return None
    try:
        if check_regular_mtime(json_path) < os.stat(path).st_mtime:
            return None
        with open_input(json_path) as f:
            result = json.load(f)
    except (Refused, ValueError, UnicodeDecodeError, OSError):
        return None  # truncated, not JSON, a FIFO ...: analysed again
    return result if isinstance(result, dict) and result.get("analysis_version") == version else None


def check_regular_mtime(path):
    from ..safe_io import check_regular
    return check_regular(path).st_mtime


def measures(result, sa):
    row = {"status": "interrupted" if result.get("interrupted") else "done"}
    for label in ("untrained", "trained"):
        if result.get(label):
            row.update(sa.flatten({k: v for k, v in result[label].items() if k != "phases"}, label + "."))
    row.update(sa.summary_columns(result))  # readout_xor_network, ... (docs/model.md 11.3, 11.5)
    return row


def collect(folder, max_neurons, seed):
    from .. import analysis as sa
    from ..safe_io import check_regular

    output_folder(folder, create=False)
    out = os.path.join(folder, "summary.csv")
    check_output(out, overwrite=True)  # a link or special file there: refused before any work
    problem = None
    try:
        manifest = read_manifest(folder)
        keys, points = manifest["keys"], manifest["points"]
    except Refused as refusal:
        if not os.path.lexists(os.path.join(folder, MANIFEST)):
            raise
        problem = str(refusal)
        keys, points = discover_points(folder)
        print(f"seqlearn-sweep: {problem}; the points are taken from the names of {folder}/*.h5", file=sys.stderr)
    rows, missing, unreadable = [], [], []
    for point in points:
        name = point["name"]
        base = {"point": name, **{k: str(point["values"].get(k, "")) for k in keys}}
        if not POINT_NAME.fullmatch(name):  # '../x', '/etc/passwd': never read or written
            unreadable.append(ascii(name))
            rows.append({**base, "point": ascii(name), "status": "refused",
                         "reason": "not a sweep point name (KEY=VALUE,...): nothing outside the folder is read"})
            continue
        path = os.path.join(folder, name + ".h5")
        if not os.path.lexists(path):
            missing.append(name)
            rows.append({**base, "status": "missing", "reason": "no output file"})
            continue
        json_path = os.path.splitext(path)[0] + ".analysis.json"
        row = None
        try:
            check_regular(path)
            result = cached_result(path, json_path, sa.ANALYSIS_VERSION)
            if result is not None:
                try:
                    row = measures(result, sa)
                except (AttributeError, TypeError, ValueError, KeyError):
                    result = None  # a JSON of another shape: analysed again
            if result is None:
                result = sa.jsonable(sa.analyze(path, max_neurons, seed))
                row = measures(result, sa)
                try:
                    write_text(json_path, json.dumps(result, indent=2, allow_nan=False), overwrite=True)
                except Refused as refusal:
                    print(f"seqlearn-sweep: {refusal} (the analysis is not kept)", file=sys.stderr)
        except (Refused, OSError, KeyError, ValueError, IndexError, TypeError, AttributeError, MemoryError) as error:
            # not HDF5, truncated (a run killed while writing, a copy cut short), HDF5 without the
            # datasets of an output, or not a regular file
            reason = str(error) if isinstance(error, Refused) else f"{type(error).__name__}: {error}"
            reason = " ".join(reason.split())
            unreadable.append(name)
            rows.append({**base, "status": "unreadable", "reason": reason})
            print(f"seqlearn-sweep: {path} is unreadable ({reason})", file=sys.stderr)
            continue
        rows.append({**base, **row})
    columns = ["point", *keys, "status", "reason"]
    for row in rows:
        columns += [c for c in row if c not in columns]
    with AtomicOutput(out, overwrite=True) as target:
        writer = csv.DictWriter(target.file(newline=""), fieldnames=columns, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    print(f"seqlearn-sweep: {out}: {len(rows)} points, {len(columns) - len(keys) - 3} measures"
          + (f"; missing: {', '.join(missing)}" if missing else "")
          + (f"; unreadable: {', '.join(unreadable)}" if unreadable else "")
          + ("; sweep.json unreadable" if problem else ""))
    return 1 if missing or unreadable or problem else 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="seqlearn-sweep", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--param", action="append", default=[], metavar="KEY=V1,V2,...",
                        help="a swept key and its values (repeatable: the grid is the product)")
    parser.add_argument("--out", help="folder for the points' outputs (created)")
    parser.add_argument("--ranks", type=int, default=1, help="MPI ranks per point (default 1)")
    parser.add_argument("--threads", type=int, help="OpenMP threads per rank (--threads; SLURM: --cpus-per-task)")
    parser.add_argument("--slurm", action="store_true", help="submit one SLURM array job instead of running here")
    parser.add_argument("--dry-run", action="store_true", help="with --slurm: print the sbatch command and script")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--new-sweep", action="store_true",
                        help="replace DIR/sweep.json of another sweep (other keys or program arguments)")
    parser.add_argument("--collect", metavar="DIR", help="analyse a sweep's points and write DIR/summary.csv")
    parser.add_argument("--max-neurons", type=int, default=2000, help="for --collect, as seqlearn-analyze")
    parser.add_argument("--seed", type=int, default=0, help="for --collect, as seqlearn-analyze")
    argv = sys.argv[1:] if argv is None else list(argv)
    program_args = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    args.program_args = program_args
    try:
        if args.collect:
            if args.param or args.out:
                raise Refusal("--collect DIR takes no --param or --out")
            return collect(args.collect, args.max_neurons, args.seed)
        if not args.param or not args.out:
            raise Refusal("give --param KEY=V1,V2,... and --out DIR (or --collect DIR)")
        if args.ranks < 1 or (args.threads is not None and args.threads < 0):
            raise Refusal("--ranks must be at least 1 and --threads at least 0")
        if args.dry_run and not args.slurm:
            raise Refusal("--dry-run goes with --slurm")
        for arg in program_args:
            if PER_POINT.fullmatch(arg):
                raise Refusal(f"{ascii(arg.split('=', 1)[0])} is set per point by the sweep; leave it out")
        params = [parse_param(p) for p in args.param]
        for key, _ in params:
            if key in ("output.file", "output.checkpoint_file"):
                raise Refusal(f"--param {key}: set per point by the sweep (from the point's name)")
        if not args.slurm:
            mpirun()  # the environment's launcher checked before anything is written
        if os.path.lexists(args.out):
            output_folder(args.out, create=False)
        binary = program()
        if not os.access(binary, os.X_OK):
            raise Refusal(f"no program at {ascii(binary)} (build it, or set SEQLEARN_BIN)")
        keys = known_keys(binary)
        unknown = [k for k, _ in params if k not in keys]
        if unknown:
            raise Refusal(f"unknown key(s) {', '.join(unknown)} (seqlearn_mpi --help lists the keys)")
        points = plan(params, args.out)
        existing = [p["output"] for p in points if os.path.lexists(p["output"])]
        for path in existing:
            check_output(path, True)  # a link, FIFO, device or folder: refused even with --overwrite
        for point in points:  # the logs beside the outputs likewise
            log = os.path.splitext(point["output"])[0] + ".log"
            if os.path.lexists(log):
                check_output(log, True)
        if existing and not args.overwrite:
            raise Refusal(f"{len(existing)} output(s) exist, e.g. {existing[0]} (--overwrite replaces them)")
        script = slurm_script(points, args, binary) if args.slurm else None  # refusals before any file
        output_folder(args.out)
        write_manifest(args.out, params, points, args)
        return submit(points, args, script) if args.slurm else run_local(points, args, binary)
    except Refusal as refusal:
        print(f"seqlearn-sweep: {refusal}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
