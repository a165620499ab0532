# Shared by the sbatch scripts (sourced). Submit them from the repository root, where
# build/release/seqlearn_mpi is (scripts/build.sh), or set SEQLEARN_BIN. The installed copies
# (cmake --install: P/share/seqlearn/jobs, docs/cluster.md) can be submitted from any folder
# and run P/bin/seqlearn_mpi and P/bin's tools by default; results go below the submit folder.
#   SEQLEARN_MODULES   environment modules to load first, e.g. "gcc openmpi hdf5" (module load,
#                      when the cluster has the module command; the same modules as the build)
#   SEQLEARN_SETUP     a script to source first instead or as well (e.g. a conda or spack
#                      environment's activation), for clusters without modules
#   SEQLEARN_BIN       the program (default: $SLURM_SUBMIT_DIR/build/release/seqlearn_mpi; for
#                      the installed jobs P/bin/seqlearn_mpi)
#   SEQLEARN_PYTHON    the python3 for the tools (default: python3 on PATH if it has h5py,
#                      numpy and matplotlib, else /usr/bin/python3)
#   SEQLEARN_SRUN_MPI  srun's --mpi plugin (default pmix; Debian's Open MPI needs pmix, not pmi2)
#   SEQLEARN_THREADS   OpenMP threads per rank, passed as --threads and OMP_NUM_THREADS
#                      (default: the job's --cpus-per-task, else 1; docs/parallel.md)
#   SEQLEARN_LAUNCHER  how to start R ranks, R appended, then the program (default:
#                      srun --mpi=$SEQLEARN_SRUN_MPI --cpus-per-task=$SEQLEARN_THREADS -n; srun
#                      inherits no --cpus-per-task from sbatch since SLURM 22.05;
#                      bench/scaling.sh uses seqlearn_mpirun from scripts/launch.sh outside SLURM)
#   SEQLEARN_RESULTS   results tree (default: $SLURM_SUBMIT_DIR/results/slurm)
#   SEQLEARN_ARGS      extra seqlearn_mpi arguments for every point
# Values are never evaluated. Numbers (SEQLEARN_THREADS, SEQLEARN_RANKS, SEQLEARN_MAX_SEGMENTS,
# ...) must be plain decimal integers within bounds, else the job stops with one line naming the
# variable (exit 2). SEQLEARN_ARGS, SEQLEARN_LAUNCHER and SEQLEARN_CHAIN_SBATCH are lists, split
# by xargs's quoting rule: blanks and newlines separate words, '...' or "..." keep blanks in one
# word, a backslash escapes the next character; nothing is expanded ($VAR, $(...), `...`, *, ~
# stay as written). E.g. SEQLEARN_ARGS="--output.file 'a b.h5' --seed 3" is four words.
# With more than one thread per rank, OMP_PLACES=cores and OMP_PROC_BIND=close (unless set) pin
# each rank's threads to its own cores: this needs SLURM to bind each task to its cores
# (task/affinity or task/cgroup; check with srun --cpu-bind=verbose). Where tasks are not bound,
# set OMP_PROC_BIND=false, or every rank's first thread lands on the same core.
# Stopping (docs/checkpoint.md, "Stopping through a launcher"): scancel, srun's Ctrl-C and the
# time limit send SIGTERM to every task directly and SIGKILL KillWait seconds later (slurm.conf,
# default 30 s); run.sbatch asks for the TERM 120 s before the limit (--signal=TERM@120), which
# leaves the ranks that long to write the checkpoint and the output (exit code 3). Outside
# SLURM, SEQLEARN_LAUNCHER=seqlearn_mpirun (scripts/launch.sh) turns SIGTERM into SIGUSR2, which
# mpirun forwards; a bare mpirun kills the ranks 1 s after SIGTERM.
# seqlearn_uint NAME VALUE MIN MAX: prints VALUE as a decimal integer (leading zeros dropped,
# never read as octal) when it is one within [MIN, MAX]; otherwise one line naming NAME on
# stderr and status 2. VALUE is matched, never evaluated.
seqlearn_uint() {
  local name=$1 value=$2 min=$3 max=$4
  if [[ ! "$value" =~ ^[0-9]{1,18}$ ]] || ((10#$value < min || 10#$value > max)); then
    echo "seqlearn: $name must be a whole number from $min to $max, got '${value//$'\n'/\\n}'" >&2
    return 2
  fi
  echo $((10#$value))
}
# seqlearn_split NAME VALUE: the array SEQLEARN_SPLIT from VALUE, a quoted list (xargs's rules
# above; nothing expanded, nothing globbed). Unbalanced quotes: one line naming NAME, status 2.
seqlearn_split() {
  local name=$1 value=$2
  SEQLEARN_SPLIT=()
  [[ -n "$value" ]] || return 0
  if ! printf '%s' "$value" | xargs -r printf '%s\0' >/dev/null 2>&1; then
    echo "seqlearn: $name has an unbalanced quote (a list split like a shell's, without expansion): '${value//$'\n'/\\n}'" >&2
    return 2
  fi
  mapfile -d '' SEQLEARN_SPLIT < <(printf '%s' "$value" | xargs -r printf '%s\0')
}
# Module hook: the job's shell starts without the submitting shell's modules on some clusters
# (sbatch --export=NONE), and the program needs its MPI and HDF5 libraries at run time.
if [[ -n "${SEQLEARN_MODULES:-}" ]]; then
  if ! type module >/dev/null 2>&1; then  # a batch shell that did not read /etc/profile
    for init in /etc/profile.d/lmod.sh /etc/profile.d/modules.sh; do
      # shellcheck disable=SC1090
      [[ -r "$init" ]] && { set +u; source "$init"; set -u; break; }
    done
  fi
  if type module >/dev/null 2>&1; then
    set +u  # some module systems read unset variables
    seqlearn_split SEQLEARN_MODULES "$SEQLEARN_MODULES" || exit 2
    module load "${SEQLEARN_SPLIT[@]}" || { echo "seqlearn: module load $SEQLEARN_MODULES failed" >&2; exit 2; }
    set -u
    echo "seqlearn: modules loaded: $SEQLEARN_MODULES"
  else
    echo "seqlearn: SEQLEARN_MODULES is set but this machine has no module command" >&2
  fi
fi
if [[ -n "${SEQLEARN_SETUP:-}" ]]; then
  set +u
  # shellcheck disable=SC1090
  source "$SEQLEARN_SETUP" || { echo "seqlearn: sourcing $SEQLEARN_SETUP failed" >&2; exit 2; }
  set -u
fi
SEQLEARN_ROOT=${SEQLEARN_ROOT:-${SLURM_SUBMIT_DIR:-$PWD}}
# Set to P/bin in the installed copy of this file by cmake --install (cmake/install_extras.cmake).
SEQLEARN_INSTALLED_BIN_DIR=""
if [[ -n "$SEQLEARN_INSTALLED_BIN_DIR" ]]; then
  SEQLEARN_BIN=${SEQLEARN_BIN:-$SEQLEARN_INSTALLED_BIN_DIR/seqlearn_mpi}
  SEQLEARN_TOOLS=${SEQLEARN_TOOLS:-$SEQLEARN_INSTALLED_BIN_DIR}
else
  SEQLEARN_BIN=${SEQLEARN_BIN:-$SEQLEARN_ROOT/build/release/seqlearn_mpi}
  SEQLEARN_TOOLS=${SEQLEARN_TOOLS:-$SEQLEARN_ROOT/tools}
fi
if [[ -z "${SEQLEARN_PYTHON:-}" ]]; then
  SEQLEARN_PYTHON=/usr/bin/python3
  command -v python3 >/dev/null 2>&1 && python3 -c "import h5py, numpy, matplotlib" 2>/dev/null &&
    SEQLEARN_PYTHON=$(command -v python3)
fi
SEQLEARN_SRUN_MPI=${SEQLEARN_SRUN_MPI:-pmix}
if [[ ! "$SEQLEARN_SRUN_MPI" =~ ^[A-Za-z0-9_.-]+$ ]]; then
  echo "seqlearn: SEQLEARN_SRUN_MPI must be an srun --mpi plugin name (pmix, pmi2, ...), got '$SEQLEARN_SRUN_MPI'" >&2
  exit 2
fi
# SLURM's own values are checked too: the job id goes into folder names and patterns.
if [[ -n "${SLURM_JOB_ID:-}" && ! "$SLURM_JOB_ID" =~ ^[0-9]{1,18}$ ]]; then
  echo "seqlearn: SLURM_JOB_ID must be a job id (a whole number), got '${SLURM_JOB_ID//$'\n'/\\n}'" >&2
  exit 2
fi
if [[ -n "${SEQLEARN_THREADS:-}" ]]; then
  SEQLEARN_THREADS=$(seqlearn_uint SEQLEARN_THREADS "$SEQLEARN_THREADS" 1 4096) || exit 2
else
  SEQLEARN_THREADS=$(seqlearn_uint SLURM_CPUS_PER_TASK "${SLURM_CPUS_PER_TASK:-1}" 1 4096) || exit 2
fi
# The launcher as an array: SEQLEARN_LAUNCHER split by the quoting rule above, or srun's line.
if [[ -n "${SEQLEARN_LAUNCHER:-}" ]]; then
  seqlearn_split SEQLEARN_LAUNCHER "$SEQLEARN_LAUNCHER" || exit 2
  seqlearn_launcher=("${SEQLEARN_SPLIT[@]}")
else
  seqlearn_launcher=(srun "--mpi=$SEQLEARN_SRUN_MPI" "--cpus-per-task=$SEQLEARN_THREADS" -n)
  SEQLEARN_LAUNCHER=${seqlearn_launcher[*]}
fi
seqlearn_split SEQLEARN_ARGS "${SEQLEARN_ARGS:-}" || exit 2  # checked now, split again per run
SEQLEARN_RESULTS=${SEQLEARN_RESULTS:-$SEQLEARN_ROOT/results/slurm}
# Not ${OMP_NUM_THREADS:-...}: a submitting shell that sourced scripts/env.sh exports 1.
export OMP_NUM_THREADS=$SEQLEARN_THREADS
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
if ((SEQLEARN_THREADS > 1)); then
  export OMP_PLACES=${OMP_PLACES:-cores} OMP_PROC_BIND=${OMP_PROC_BIND:-close}
  # --cpus-per-task gives each thread a core: let waiting threads spin briefly (the runtime's
  # default) rather than sleep at each of the team's barriers (docs/parallel.md 6).
  [[ -n "${SEQLEARN_OMP_WAIT_POLICY:-}" ]] && export OMP_WAIT_POLICY=$SEQLEARN_OMP_WAIT_POLICY || unset OMP_WAIT_POLICY
fi
[[ -f "$SEQLEARN_BIN" && -x "$SEQLEARN_BIN" ]] || { echo "seqlearn: no program at $SEQLEARN_BIN (build it, or set SEQLEARN_BIN)" >&2; exit 2; }
echo "seqlearn: program $SEQLEARN_BIN"
echo "seqlearn: $SEQLEARN_THREADS thread(s) per rank; launcher: $SEQLEARN_LAUNCHER R"

# run_program OUT.h5 LOG TIMING RANKS ARGS...: seqlearn_mpi on RANKS tasks -> OUT.h5, its log
# and TIMING (the figures of the program's closing "bench:" line, as JSON); returns the
# program's exit code (0 done, 3 stopped by SIGTERM with a checkpoint, else failed).
run_program() {
  local out=$1 log=$2 timing=$3 ranks=$4
  shift 4
  local threads=(--threads "$SEQLEARN_THREADS")  # unless SEQLEARN_ARGS gives it (once only)
  local extra arg
  seqlearn_split SEQLEARN_ARGS "${SEQLEARN_ARGS:-}" || return 2
  extra=("${SEQLEARN_SPLIT[@]}")
  for arg in "${extra[@]}"; do
    [[ "$arg" =~ ^--(run\.)?threads(=|$) ]] && threads=()
  done
  mkdir -p "$(dirname "$out")"
  local code=0
  "${seqlearn_launcher[@]}" "$ranks" "$SEQLEARN_BIN" --output "$out" --overwrite \
    "${threads[@]}" "$@" "${extra[@]}" >"$log" 2>&1 || code=$?
  grep '^bench:' "$log" | sed 's/^bench: //' |
    awk '{ printf "{"; for (i = 1; i <= NF; ++i) { split($i, kv, "=");
             v = kv[2] ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ ? kv[2] : "\"" kv[2] "\""  # exchange=NAME
             printf "%s\"%s\": %s", (i > 1 ? ", " : ""), kv[1], v } print "}" }' \
      >"$timing" || true
  [[ -s "$timing" ]] || rm -f "$timing"
  return "$code"
}

# run_point DIR RANKS ARGS...: seqlearn_mpi on RANKS tasks -> DIR/run.h5, DIR/run.log and
# DIR/timing.json (the figures of the program's closing "bench:" line, as JSON).
run_point() {
  local dir=$1 ranks=$2
  shift 2
  if ! run_program "$dir/run.h5" "$dir/run.log" "$dir/timing.json" "$ranks" "$@"; then
    echo "seqlearn: point $dir failed; see $dir/run.log" >&2
    tail -5 "$dir/run.log" >&2
    return 1
  fi
  echo "seqlearn: $dir: $(tr -d '{}"' <"$dir/timing.json" | cut -d, -f1-4)"
}

# same_result DIR_A DIR_B: the two runs' spikes, inputs and traces are identical (h5diff).
same_result() {
  local group
  for group in /spikes /input /traces /network/circuit_pairs; do
    if ! h5diff -q "$1/run.h5" "$2/run.h5" "$group" "$group"; then
      echo "seqlearn: $1 and $2 differ in $group" >&2
      return 1
    fi
  done
}

# rank_list MAX: 1 2 4 ... up to MAX (and MAX itself), unless SEQLEARN_RANKS lists them.
# Every count is checked (seqlearn_uint, 1..1000000); a bad one ends the job (exit 2).
rank_list() {
  local r list="" max
  if [[ -n "${SEQLEARN_RANKS:-}" ]]; then
    local -a given
    read -r -d '' -a given <<<"$SEQLEARN_RANKS" || true
    for r in "${given[@]}"; do
      r=$(seqlearn_uint SEQLEARN_RANKS "$r" 1 1000000) || exit 2
      list+="$r "
    done
    [[ -n "$list" ]] || { echo "seqlearn: SEQLEARN_RANKS lists no rank count" >&2; exit 2; }
    echo "${list% }"
    return
  fi
  max=$(seqlearn_uint "the task count" "$1" 1 1000000) || exit 2
  r=1
  while ((r < max)); do list+="$r "; r=$((r * 2)); done
  echo "$list$max"
}

# seqlearn_block NAME VALUE: VALUE (ROWSxCOLS, e.g. 64x64) as "ROWS COLS", checked; else exit 2.
seqlearn_block() {
  if [[ ! "$2" =~ ^([0-9]{1,9})x([0-9]{1,9})$ ]] || ((10#${BASH_REMATCH[1]} < 1 || 10#${BASH_REMATCH[2]} < 1)); then
    echo "seqlearn: $1 must be ROWSxCOLS (whole numbers >= 1, e.g. 64x64), got '$2'" >&2
    exit 2
  fi
  echo "$((10#${BASH_REMATCH[1]})) $((10#${BASH_REMATCH[2]}))"
}
