# Shared by the sbatch scripts (sourced). Submit them from the repository root, where
# build/release/seqlearn_mpi is (scripts/build.sh), or set SEQLEARN_BIN.
#   SEQLEARN_BIN       the program (default: $SLURM_SUBMIT_DIR/build/release/seqlearn_mpi)
#   SEQLEARN_SRUN_MPI  srun's --mpi plugin (default pmix; Debian's Open MPI needs pmix, not pmi2)
#   SEQLEARN_THREADS   OpenMP threads per rank, passed as --threads and OMP_NUM_THREADS
#                      (default: the job's --cpus-per-task, else 1; docs/parallel.md)
#   SEQLEARN_LAUNCHER  how to start R ranks, R appended, then the program (default:
#                      srun --mpi=$SEQLEARN_SRUN_MPI --cpus-per-task=$SEQLEARN_THREADS -n; srun
#                      inherits no --cpus-per-task from sbatch since SLURM 22.05;
#                      bench/scaling.sh uses seqlearn_mpirun from scripts/launch.sh outside SLURM)
#   SEQLEARN_RESULTS   results tree (default: $SLURM_SUBMIT_DIR/results/slurm)
#   SEQLEARN_ARGS      extra seqlearn_mpi arguments for every point
# With more than one thread per rank, OMP_PLACES=cores and OMP_PROC_BIND=close (unless set) pin
# each rank's threads to its own cores: this needs SLURM to bind each task to its cores
# (task/affinity or task/cgroup; check with srun --cpu-bind=verbose). Where tasks are not bound,
# set OMP_PROC_BIND=false, or every rank's first thread lands on the same core.
SEQLEARN_ROOT=${SEQLEARN_ROOT:-${SLURM_SUBMIT_DIR:-$PWD}}
SEQLEARN_BIN=${SEQLEARN_BIN:-$SEQLEARN_ROOT/build/release/seqlearn_mpi}
SEQLEARN_SRUN_MPI=${SEQLEARN_SRUN_MPI:-pmix}
SEQLEARN_THREADS=${SEQLEARN_THREADS:-${SLURM_CPUS_PER_TASK:-1}}
srun_launcher="srun --mpi=$SEQLEARN_SRUN_MPI --cpus-per-task=$SEQLEARN_THREADS -n"
SEQLEARN_LAUNCHER=${SEQLEARN_LAUNCHER:-$srun_launcher}
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
[[ -x "$SEQLEARN_BIN" ]] || { echo "seqlearn: no program at $SEQLEARN_BIN (build it, or set SEQLEARN_BIN)" >&2; exit 2; }
echo "seqlearn: program $SEQLEARN_BIN"
echo "seqlearn: $SEQLEARN_THREADS thread(s) per rank; launcher: $SEQLEARN_LAUNCHER R"

# run_program OUT.h5 LOG TIMING RANKS ARGS...: seqlearn_mpi on RANKS tasks -> OUT.h5, its log
# and TIMING (the figures of the program's closing "bench:" line, as JSON); returns the
# program's exit code (0 done, 3 stopped by SIGTERM with a checkpoint, else failed).
run_program() {
  local out=$1 log=$2 timing=$3 ranks=$4
  shift 4
  local threads=(--threads "$SEQLEARN_THREADS")  # unless SEQLEARN_ARGS gives it (once only)
  [[ " ${SEQLEARN_ARGS:-} " =~ [[:space:]]--(run\.)?threads[[:space:]=] ]] && threads=()
  mkdir -p "$(dirname "$out")"
  local code=0
  # shellcheck disable=SC2086
  $SEQLEARN_LAUNCHER "$ranks" "$SEQLEARN_BIN" --output "$out" --overwrite \
    "${threads[@]}" "$@" ${SEQLEARN_ARGS:-} >"$log" 2>&1 || code=$?
  grep '^bench:' "$log" | sed 's/^bench: //' |
    awk '{ printf "{"; for (i = 1; i <= NF; ++i) { split($i, kv, "="); printf "%s\"%s\": %s", (i > 1 ? ", " : ""), kv[1], kv[2] } print "}" }' \
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
rank_list() {
  if [[ -n "${SEQLEARN_RANKS:-}" ]]; then echo "$SEQLEARN_RANKS"; return; fi
  local r=1 list=""
  while ((r < $1)); do list+="$r "; r=$((r * 2)); done
  echo "$list$1"
}
