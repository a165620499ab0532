#!/usr/bin/env bash
# The Open MPI launch line for R ranks x T OpenMP threads per rank on this machine
# (docs/parallel.md). Open MPI's default binds each rank to ONE core when R <= 2 (to a socket
# otherwise), so T threads of a rank would share that core and gain nothing. This helper gives
# each rank T cores of its own when R x T fits the cores, and otherwise lets the OS schedule:
#   R x T <= cores:  OMP_NUM_THREADS=T OMP_PROC_BIND=close OMP_PLACES=cores (no WAIT_POLICY) \
#                    mpirun -n R --map-by slot:PE=T --bind-to core
#   R x T >  cores:  OMP_NUM_THREADS=T OMP_PROC_BIND=false OMP_WAIT_POLICY=passive \
#                    mpirun -n R --oversubscribe --bind-to none        (and says so on stderr)
# Unbound ranks must not bind their threads: with OMP_PROC_BIND=close every rank would put
# its first thread on the first core. Pass --threads T to seqlearn_mpi as well.
#
# Executed:
#   scripts/launch.sh R T                      print the line
#   scripts/launch.sh R T PROGRAM [ARGS...]    run PROGRAM with it (T = 0: cores / R; Ctrl-C
#                                              or SIGTERM stop it cleanly, exit code 3), e.g.
#   scripts/launch.sh 2 1 build/release/seqlearn_mpi --threads 1 --output results/run.h5
# Sourced (bash; sources scripts/env.sh too):
#   seqlearn_launch R T            sets the array SEQLEARN_MPIRUN (mpirun ... without the
#                                  program) and exports the OMP_* variables above
#   seqlearn_mpirun R PROGRAM ...  runs PROGRAM on R ranks x $SEQLEARN_THREADS (default 1)
#                                  threads; usable as SEQLEARN_LAUNCHER=seqlearn_mpirun
#                                  (jobs/lib.sh appends the ranks, then the program)
# SEQLEARN_CORES overrides the core count (default: the physical cores this process may run
# on, from /proc/self/status and lscpu; nproc without lscpu). One machine only: on several,
# write the line yourself (docs/parallel.md) or use the SLURM jobs (jobs/).

# seqlearn_cores: the physical cores (not hardware threads) this process may run on.
seqlearn_cores() {
  if [[ -n "${SEQLEARN_CORES:-}" ]]; then echo "$SEQLEARN_CORES"; return; fi
  local allowed cores=""
  allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status 2>/dev/null)
  if [[ -n "$allowed" ]] && command -v lscpu >/dev/null; then
    cores=$(lscpu -p=CPU,CORE,SOCKET 2>/dev/null | awk -F, -v allowed="$allowed" '
      BEGIN { n = split(allowed, ranges, ",")
              for (i = 1; i <= n; ++i) {
                m = split(ranges[i], ends, "-"); hi = (m > 1 ? ends[2] : ends[1])
                for (c = ends[1]; c <= hi; ++c) ok[c] = 1 } }
      /^#/ { next }
      ($1 in ok) && !(($3 ":" $2) in seen) { seen[$3 ":" $2] = 1; ++count }
      END { if (count > 0) print count }')
  fi
  echo "${cores:-$(nproc)}"
}

# seqlearn_launch R T: SEQLEARN_MPIRUN=(mpirun ...) and the OMP_* environment for R x T.
seqlearn_launch() {
  local ranks=$1 threads=$2 cores
  if ! [[ "$ranks" =~ ^[1-9][0-9]*$ && "$threads" =~ ^[0-9]+$ ]]; then
    echo "launch.sh: ranks must be a positive integer and threads >= 0, got '$ranks'" \
         "'$threads'" >&2
    return 2
  fi
  cores=$(seqlearn_cores)
  # T = 0 (as for --threads 0, "auto"): the cores shared out evenly, at least 1 per rank.
  ((threads > 0)) || threads=$((cores / ranks > 0 ? cores / ranks : 1))
  export OMP_NUM_THREADS=$threads
  if ((ranks * threads <= cores)); then
    # Every thread has a core: let waiting threads spin a while before sleeping (the OpenMP
    # runtime's default), since the team meets at barriers several times per step.
    unset OMP_WAIT_POLICY
    export OMP_PROC_BIND=close OMP_PLACES=cores
    SEQLEARN_MPIRUN=(mpirun -n "$ranks" --map-by "slot:PE=$threads" --bind-to core)
  else
    echo "launch.sh: $ranks ranks x $threads threads > $cores cores: oversubscribed, unbound" \
         "(--oversubscribe --bind-to none, OMP_WAIT_POLICY=passive); slower than R x T <= cores" >&2
    export OMP_PROC_BIND=false OMP_WAIT_POLICY=passive
    unset OMP_PLACES
    SEQLEARN_MPIRUN=(mpirun -n "$ranks" --oversubscribe --bind-to none)
  fi
}

# seqlearn_launch_line: the environment and command of the last seqlearn_launch, one line.
seqlearn_launch_line() {
  local vars="OMP_NUM_THREADS=$OMP_NUM_THREADS OMP_PROC_BIND=$OMP_PROC_BIND"
  [[ "$OMP_PROC_BIND" == false ]] && vars+=" OMP_WAIT_POLICY=$OMP_WAIT_POLICY" ||
    vars+=" OMP_PLACES=$OMP_PLACES"
  echo "$vars ${SEQLEARN_MPIRUN[*]}"
}

# seqlearn_guarded MPIRUN_LINE...: runs the mpirun line so that Ctrl-C and SIGTERM stop the
# run cleanly (exit code 3, a checkpoint and a complete output; docs/checkpoint.md). Open MPI
# 4.1's mpirun cannot forward SIGINT/SIGTERM: it answers them by killing the job (SIGCONT,
# then SIGTERM odls_base_sigkill_timeout = 1 s later, SIGKILL 1 s after that) and exits 1, too
# soon for a large state to be written. It does forward SIGUSR1/SIGUSR2 to every rank at once
# (ess_base_forward_signals), and seqlearn_mpi stops on those as on SIGTERM. So mpirun runs in
# its own session (a Ctrl-C at the terminal reaches only this shell), and this shell turns
# SIGINT/SIGTERM into SIGUSR2 for mpirun, then waits for it and returns its exit code.
seqlearn_guarded() {
  local pid code
  setsid "$@" &
  pid=$!
  # shellcheck disable=SC2064  # the pid is fixed now
  trap "echo 'launch.sh: stop requested: forwarding it to the ranks as SIGUSR2 (mpirun $pid)' >&2
        kill -USR2 $pid 2>/dev/null" INT TERM
  while true; do
    wait "$pid"
    code=$?
    kill -0 "$pid" 2>/dev/null || break  # wait was only interrupted by a trapped signal
  done
  trap - INT TERM
  return "$code"
}

# seqlearn_mpirun R PROGRAM [ARGS...]: PROGRAM on R ranks x ${SEQLEARN_THREADS:-1} threads,
# with Ctrl-C/SIGTERM turned into a clean stop (seqlearn_guarded).
seqlearn_mpirun() {
  local ranks=$1
  shift
  seqlearn_launch "$ranks" "${SEQLEARN_THREADS:-1}" || return
  seqlearn_guarded "${SEQLEARN_MPIRUN[@]}" "$@"
}

# shellcheck source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  if [[ $# -lt 2 ]]; then
    echo "usage: scripts/launch.sh RANKS THREADS [PROGRAM ARGS...]  (prints the line without" \
         "PROGRAM)" >&2
    exit 2
  fi
  seqlearn_launch "$1" "$2" || exit
  shift 2
  if [[ $# -eq 0 ]]; then
    seqlearn_launch_line
    exit 0
  fi
  echo "launch.sh: $(seqlearn_launch_line) $*" >&2
  set +e
  seqlearn_guarded "${SEQLEARN_MPIRUN[@]}" "$@"
  exit $?
fi
