"""seqlearn-sweep: parameter sweeps (a grid of runs), locally or as one SLURM array job.

  seqlearn-sweep --param KEY=V1,V2,... [--param ...] --out DIR [--ranks R] [--threads T]
                 [--slurm [--dry-run]] [--overwrite] -- [seqlearn_mpi arguments]
  seqlearn-sweep --collect DIR

Runs every point of the grid (the product of the --param lists), one output per point named
by its values: DIR/plasticity.learning_rate=0.05,run.seed=2.h5 (characters other than
letters, digits and . _ + - become _). Values are split at commas, or at | where the list
has one (--param 'input.t_pattern=300,200|300'). Locally the points run one after another
under mpirun -np R (SEQLEARN_MPIRUN: another launcher, R appended); the program is
$SEQLEARN_BIN, else build/release/seqlearn_mpi. --slurm writes DIR/sweep.sbatch, one array
job (sbatch --array=0-(N-1)), each task running one point with srun on R tasks of T cores
(jobs/lib.sh); --dry-run prints the sbatch command and the script instead of submitting.
DIR/sweep.json records the swept keys and the points.

--collect analyses every point (seqlearn-analyze's measures; RUN.analysis.json beside each)
and writes DIR/summary.csv: one row per point, the swept keys, its status (done, interrupted,
missing: no output file, unreadable: an output that is not a readable seqlearn file, e.g.
truncated), the reason for missing and unreadable points, then the measures. summary.csv is
written whatever the points' states; the exit status is then 1 if any point is missing or
unreadable, else 0.

Exit status 2 (nothing run) for bad --param syntax, keys the program does not know (its
--help lists them), points named twice, or outputs that exist without --overwrite.
"""
import argparse
import csv
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

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


class Refusal(Exception):
    pass


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
    return [{"name": n, "output": os.path.join(out, n + ".h5"), "values": dict(p)} for n, p in zip(names, points)]


def point_args(point, extra, threads):
    args = list(extra)
    for key, value in point["values"].items():
        args += [f"--{key}", value]
    if threads is not None:
        args += ["--threads", str(threads)]
    return args + ["--output", point["output"]]


def write_manifest(out, params, points, args):
    with open(os.path.join(out, MANIFEST), "w") as f:
        json.dump({"keys": [k for k, _ in params], "params": dict(params), "args": args.program_args,
                   "ranks": args.ranks, "threads": args.threads, "points": points}, f, indent=2)


def run_local(points, args, binary):
    launcher = shlex.split(os.environ.get("SEQLEARN_MPIRUN", "mpirun -np"))
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
        with open(log, "w") as f:
            rc = subprocess.run(command, stdout=f, stderr=subprocess.STDOUT, env=env).returncode
        if rc != 0:
            failed += 1
            print(f"seqlearn-sweep: {point['name']} failed (exit {rc}); see {log}", file=sys.stderr)
    print(f"seqlearn-sweep: {len(points) - failed} of {len(points)} points done in {args.out}; "
          f"next: seqlearn-sweep --collect {args.out}")
    return 1 if failed else 0


def slurm_script(points, args, binary):
    out = os.path.abspath(args.out)
    lines = [
        "#!/bin/bash",
        f"# seqlearn parameter sweep: {len(points)} points, one per array task (tools/seqlearn-sweep).",
        "#SBATCH --job-name=seqlearn-sweep",
        f"#SBATCH --array=0-{len(points) - 1}",
        f"#SBATCH --ntasks={args.ranks}",
        f"#SBATCH --cpus-per-task={args.threads or 1}",
        "#SBATCH --time=01:00:00",
        "#SBATCH --signal=TERM@120",
        f"#SBATCH --output={out}/slurm-%A_%a.out",
        "##SBATCH --partition=PARTITION",
        "##SBATCH --account=ACCOUNT",
        "set -euo pipefail",
        f"export SEQLEARN_ROOT={shlex.quote(jobs_root())} SEQLEARN_BIN={shlex.quote(os.path.abspath(binary))}",
        'source "$SEQLEARN_ROOT/jobs/lib.sh"',
        "points=(",
    ]
    for point in points:
        lines.append("  " + shlex.quote(" ".join(shlex.quote(a) for a in point_args(point, args.program_args, None))
                                        + (" --overwrite" if args.overwrite else "")))
    lines += [
        ")",
        'eval "args=(${points[$SLURM_ARRAY_TASK_ID]})"',
        "threads=(--threads \"$SEQLEARN_THREADS\")",
        "# shellcheck disable=SC2086",
        '$SEQLEARN_LAUNCHER "$SLURM_NTASKS" "$SEQLEARN_BIN" "${threads[@]}" "${args[@]}"',
        "",
    ]
    return "\n".join(lines)


def submit(points, args, binary):
    script = slurm_script(points, args, binary)
    path = os.path.join(args.out, "sweep.sbatch")
    command = ["sbatch", path]
    if args.dry_run:
        print("# " + " ".join(shlex.quote(c) for c in command))
        print(script, end="")
        with open(path, "w") as f:
            f.write(script)
        return 0
    with open(path, "w") as f:
        f.write(script)
    proc = subprocess.run(command, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode == 0:
        print(f"seqlearn-sweep: {len(points)} points submitted as one array job ({path}); "
              f"when it is done: seqlearn-sweep --collect {args.out}")
    return proc.returncode


def collect(folder, max_neurons, seed):
    from .. import analysis as sa

    manifest_path = os.path.join(folder, MANIFEST)
    if not os.path.isfile(manifest_path):
        raise Refusal(f"no {MANIFEST} in {folder} (not a seqlearn-sweep folder)")
    with open(manifest_path) as f:
        manifest = json.load(f)
    keys = manifest["keys"]
    rows, missing, unreadable = [], [], []
    for point in manifest["points"]:
        path = os.path.join(folder, point["name"] + ".h5")
        if not os.path.isfile(path):
            missing.append(point["name"])
            rows.append({"point": point["name"], **point["values"], "status": "missing",
                         "reason": "no output file"})
            continue
        json_path = os.path.splitext(path)[0] + ".analysis.json"
        result = None
        if os.path.isfile(json_path) and os.path.getmtime(json_path) >= os.path.getmtime(path):
            with open(json_path) as f:
                result = json.load(f)
            if result.get("analysis_version") != sa.ANALYSIS_VERSION:
                result = None  # written by an older seqlearn-analyze: measures missing or computed otherwise
        if result is None:
            try:
                result = sa.jsonable(sa.analyze(path, max_neurons, seed))
            except (OSError, KeyError, ValueError, IndexError, TypeError) as error:
                # not HDF5, truncated (a run killed while writing, a copy cut short), or HDF5
                # without the datasets of an output: h5py raises OSError / KeyError / ValueError
                reason = f"{type(error).__name__}: {error}".replace("\n", " ")
                unreadable.append(point["name"])
                rows.append({"point": point["name"], **point["values"], "status": "unreadable", "reason": reason})
                print(f"seqlearn-sweep: {path} is unreadable ({reason})", file=sys.stderr)
                continue
            with open(json_path, "w") as f:
                json.dump(result, f, indent=2, allow_nan=False)
        row = {"point": point["name"], **point["values"],
               "status": "interrupted" if result.get("interrupted") else "done"}
        for label in ("untrained", "trained"):
            if result.get(label):
                row.update(sa.flatten({k: v for k, v in result[label].items() if k != "phases"}, label + "."))
        row.update(sa.summary_columns(result))  # readout_xor_network, ... (docs/model.md 11.3, 11.5)
        rows.append(row)
    measures = []
    for row in rows:
        for column in row:
            if column not in measures and column not in keys and column not in ("point", "status", "reason"):
                measures.append(column)
    columns = ["point", *keys, "status", "reason", *measures]
    out = os.path.join(folder, "summary.csv")
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    print(f"seqlearn-sweep: {out}: {len(rows)} points, {len(measures)} measures"
          + (f"; missing: {', '.join(missing)}" if missing else "")
          + (f"; unreadable: {', '.join(unreadable)}" if unreadable else ""))
    return 1 if missing or unreadable else 0


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
        for flag in ("--output", "--output.file"):
            if flag in program_args:
                raise Refusal(f"{flag} is set per point by the sweep; leave it out")
        params = [parse_param(p) for p in args.param]
        binary = program()
        if not os.access(binary, os.X_OK):
            raise Refusal(f"no program at {binary} (build it, or set SEQLEARN_BIN)")
        keys = known_keys(binary)
        unknown = [k for k, _ in params if k not in keys]
        if unknown:
            raise Refusal(f"unknown key(s) {', '.join(unknown)} (seqlearn_mpi --help lists the keys)")
        points = plan(params, args.out)
        existing = [p["output"] for p in points if os.path.exists(p["output"])]
        if existing and not args.overwrite:
            raise Refusal(f"{len(existing)} output(s) exist, e.g. {existing[0]} (--overwrite replaces them)")
        os.makedirs(args.out, exist_ok=True)
        write_manifest(args.out, params, points, args)
        return submit(points, args, binary) if args.slurm else run_local(points, args, binary)
    except Refusal as refusal:
        print(f"seqlearn-sweep: {refusal}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
