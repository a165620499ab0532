#!/usr/bin/env bash
# Quick start 1: install what is missing, build, run the default experiment (the thesis's
# full-scale run: 10x5 grid, train 100 s) on 2 MPI ranks into results/default.h5, measured as
# in the replication report (configs/full_scale.ini: an untrained test of 5 s, 100 s of
# training, two trained tests of 20 s), then draw its figures (results/default_figures/), print
# its analysis (results/default.analysis.json) and set it beside its row of
# docs/replication.md. Arguments go to seqlearn_mpi (e.g. --overwrite, --seed 3, --config
# configs/no_stp.ini: any config of the report is compared with its row; without --config,
# --restore or --run.protocol, run.sh adds --config configs/full_scale.ini and, without
# --output, --output results/default.h5; with --seed N and no --output, the output's name gets
# -seedN: results/default-seed3.h5, or a --config's own output.file with -seedN, e.g.
# results/paper/xor-seed2.h5). When the program refuses or fails, its one-line message is printed
# again as the last line (below mpirun's banner). SEQLEARN_RANKS sets the rank count (default 2) and
# SEQLEARN_THREADS the OpenMP threads per rank (default 1, passed as --threads; a --threads N
# among the arguments wins). The launch line comes from scripts/launch.sh (docs/parallel.md):
# each rank bound to its own SEQLEARN_THREADS cores when ranks x threads fit the cores.
# Ctrl-C or SIGTERM to run.sh stops every rank at the same step with a checkpoint and a
# complete output (exit code 3, no figures); see docs/checkpoint.md.
# The figures and the analysis use a python3 with h5py, numpy and matplotlib: SEQLEARN_PYTHON,
# else python3 on PATH, else /usr/bin/python3 (scripts/python.sh). On a system other than
# Debian/Ubuntu nothing is installed: load the dependencies first (docs/cluster.md).
set -euo pipefail
# Ctrl-C or SIGTERM before the run starts (installing, building): nothing written, exit code 4
# (docs/checkpoint.md); from the launch on, seqlearn_guarded (scripts/launch.sh) takes over.
trap 'echo "run.sh: stopped before the run started: nothing written; exit code 4 (run it again)" >&2; exit 4' INT TERM
cd "$(dirname "$0")"
scripts/install-deps.sh run
source scripts/python.sh
seqlearn_python || echo "run.sh: the run goes ahead, without figures or analysis" >&2
scripts/build.sh release --target seqlearn_mpi
source scripts/launch.sh
ranks=${SEQLEARN_RANKS:-2}
threads=${SEQLEARN_THREADS:-1}
threads_arg=(--threads "$threads")
previous=""
config="" own_output=0 own_experiment=0 changes=() seed="" restore=0
for arg in "$@"; do
  option=${previous:-${arg%%=*}}  # the option this argument belongs to (--key value, --key=value)
  value=$arg
  [[ -z "$previous" && "$arg" == *=* ]] && value=${arg#*=}
  if [[ -n "$previous" || "$arg" == --*=* ]]; then
    case $option in
      --threads | --run.threads) threads=$value threads_arg=() ;;  # bind for N threads, pass it once
      --config) config=$value ;;
      --output | --output.*) own_output=1 ;;
      --restore | --run.protocol) own_experiment=1 changes+=("$option")
                                  [[ "$option" == --restore ]] && restore=1 ;;
      --seed | --run.seed) seed=$value ;;
      *) changes+=("$option") ;;
    esac
    previous=""
  elif [[ "$arg" == --overwrite || "$arg" == --help || "$arg" == -h || "$arg" == --version ]]; then
    [[ "$arg" == --overwrite ]] || own_experiment=1
  elif [[ "$arg" == --* ]]; then
    previous=$arg
  fi
done
defaults=()
# The output's default name carries the seed, so that runs of one config with other seeds do not
# collide: results/default.h5 for the plain default run, results/default-seed3.h5 with --seed 3,
# and for --config C with --seed N, C's own output.file with -seedN (results/paper/xor-seed2.h5).
seed_suffix=""
[[ "$seed" =~ ^[0-9]{1,20}$ ]] && seed_suffix=-seed$seed
if [[ -z "$config" && $own_experiment -eq 0 ]]; then  # the report's protocol, the usual file name
  config=configs/full_scale.ini
  defaults=(--config "$config")
  ((own_output)) || defaults+=(--output "results/default$seed_suffix.h5")
elif [[ -n "$config" && -n "$seed_suffix" && $own_output -eq 0 && -f "$config" ]]; then
  config_output=$(awk -F= '/^[[:space:]]*\[/ { section = $0; gsub(/[][[:space:]]/, "", section) }
    section == "output" && $1 ~ /^[[:space:]]*file[[:space:]]*$/ { v = $2; gsub(/^[[:space:]]+|[[:space:]]+$/, "", v); print v; exit }' "$config")
  if [[ -z "$config_output" ]]; then
    config_output=${config##*/}
    config_output=results/${config_output%.ini}.h5
  fi
  defaults=(--output "${config_output%.h5}$seed_suffix.h5")
elif [[ -z "$config" && -n "$seed_suffix" && $own_output -eq 0 && $restore -eq 0 ]]; then
  defaults=(--output "results/default$seed_suffix.h5")  # the program's default name, with the seed
fi
seqlearn_launch "$ranks" "$threads"
program=(build/release/seqlearn_mpi "${threads_arg[@]}" "${defaults[@]}" "$@")
echo "run.sh: $(seqlearn_launch_line) ${program[*]}" >&2
log=$(mktemp)
errors=$(mktemp)
trap 'rm -f "$log" "$errors"' EXIT
# Ctrl-C or SIGTERM: seqlearn_guarded turns it into a clean stop of every rank (checkpoint,
# complete output, exit code 3; docs/checkpoint.md); tee ignores it so that nothing is lost.
exec 3> >(trap '' INT TERM; exec tee "$log")
tee_pid=$!
exec 4> >(trap '' INT TERM; exec tee "$errors" >&2)
tee_errors_pid=$!
code=0
seqlearn_guarded "${SEQLEARN_MPIRUN[@]}" "${program[@]}" >&3 2>&4 || code=$?
exec 3>&- 4>&-
wait "$tee_pid" "$tee_errors_pid" 2>/dev/null || true
if ((code != 0 && code != 3)); then
  # A refused or failed run: the program's one-line message last, below mpirun's banner.
  message=$(grep -h '^seqlearn_mpi: error:' "$log" "$errors" | tail -1)
  [[ -n "$message" ]] && echo "$message" >&2
fi
((code == 0)) || exit "$code"
output=$(sed -n 's/^output written to //p' "$log")
[[ -n "$output" ]] || exit 0  # --help, --version
[[ -n "${SEQLEARN_PYTHON:-}" ]] || { echo "run.sh: no figures or analysis of $output (no python3 with h5py, numpy, matplotlib)" >&2; exit 1; }
"$SEQLEARN_PYTHON" tools/seqlearn-plot "$output" --out "${output%.h5}_figures"
"$SEQLEARN_PYTHON" tools/seqlearn-analyze "$output"
# This run beside docs/replication.md: the row whose config column names the config run here,
# when the arguments do not change that experiment; otherwise say why it cannot be compared.
"$SEQLEARN_PYTHON" - "${output%.h5}.analysis.json" "$config" "${changes[*]}" <<'PY'
import json, math, re, sys
path, config, changes = sys.argv[1], sys.argv[2], sys.argv[3]
with open(path) as f:
    result = json.load(f)
def get(*keys):
    x = result
    for k in keys:
        x = x.get(k) if isinstance(x, dict) else None
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x
def num(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"
row = None
with open("docs/replication.md") as f:
    for line in f:
        cells = [c.strip().replace("**", "") for c in line.strip().strip("|").split("|")]
        if config and len(cells) == 7 and cells[1] == f"`{config}`":
            row = cells
print()
# A configs/paper/ experiment: its readouts beside the rows of the report's readout table (a
# row per target; a row continuing the one above has its first two cells empty).
paper_rows, current = [], None
with open("docs/replication.md") as f:
    for line in f:
        cells = [c.strip().replace("**", "") for c in line.strip().strip("|").split("|")]
        if len(cells) != 6 or not line.startswith("|"):
            current = None
            continue
        if cells[1]:
            current = cells[1]
        if config and current == f"`{config}`":
            paper_rows.append(cells)
if paper_rows and not changes:
    targets = {"pattern": "pattern", "xor": "xor", "memory": "memory",
               "which test sequence": "sequence", "which pattern": "pattern"}
    print(f'run.sh: this run (seed {result.get("seed", "?")}) beside docs/replication.md\'s readouts of '
          f"{config} (report: mean ± sd over seeds 1-5, before training → after):")
    print(f'  {"target":22s} {"this run: network":24s} {"report: network":32s} {"this run: input":24s} report: input')
    for cells in paper_rows:
        target = targets.get(cells[2].lower())
        mine = {}
        for state in ("network", "input"):
            before, after = get(f"readout_{target}", "before", state), get(f"readout_{target}", state)
            mine[state] = num(after) if before is None else f"{num(before)} → {num(after)}"
        print(f'  {cells[2]:22s} {mine["network"]:24s} {cells[3]:32s} {mine["input"]:24s} {cells[4]}')
    sys.exit(0)
untrained_presentations = get("untrained", "locking", "presentations")
trained_presentations = get("trained", "locking", "presentations")
if row is None or changes:
    why = (f"the arguments change the experiment ({changes})" if changes
           else f"{config} is not the config of an experiment of docs/replication.md")
    print(f"run.sh: not comparable with docs/replication.md: {why}.")
    if get("untrained") is None:
        print("run.sh: no untrained test phase before training, so the locked fraction has no baseline "
              "(the report runs test:5000 first).")
    if trained_presentations is not None and trained_presentations < 20:
        print(f"run.sh: only {trained_presentations} pattern presentations in the trained test phase(s): "
              "too few for stable measures (the report: 2 x 20 s, about 57); "
              "e.g. ./run.sh --config configs/full_scale.ini.")
    sys.exit(0)
print(f'run.sh: this run (seed {result.get("seed", "?")}) beside docs/replication.md, row "{row[0]}" '
      f"({config}; report: mean ± sd over seeds 1-5, same protocol):")
# The readouts are top-level objects (docs/analysis.md): the last block, i.e. after training.
readout = lambda kind: (None if get(kind) is None else
                        f'{num(get(kind, "network"))} / {num(get(kind, "input"))}')
lines = [
    ("locked fraction untrained → trained",
     f'{num(get("untrained", "locking", "locked_fraction"))} → {num(get("trained", "locking", "locked_fraction"))}',
     row[2]),
    ("reproducibility r, trained (neurons >= 90 Hz)",
     f'{num(get("trained", "reproducibility", "mean_correlation"))} '
     f'({get("trained", "reproducibility", "neurons_reaching_threshold")})', row[3]),
    ("pattern readout: network / input", readout("readout_pattern") or "-", row[4]),
    ("sequence readout: network / input", readout("readout_sequence") or "", row[5]),
    ("winner dwell ms, trained", num(get("trained", "persistence", "mean_dwell_ms"), 0), row[6]),
]
print(f'  {"measure":48s} {"this run":16s} report')
for name, mine, report in lines:
    if mine or report:
        print(f"  {name:48s} {mine:16s} {report}")
print(f"  (test phases: {untrained_presentations} presentations untrained, {trained_presentations} trained)")
PY
