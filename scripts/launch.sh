#!/usr/bin/env bash
# Executed: a stop request (SIGINT/SIGTERM, or SIGHUP: the terminal closed) is remembered from
# the first command on, so that none is lost before mpirun runs (seqlearn_guarded; exit code 4
# when it came before).
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  trap 'seqlearn_stop_requested=INT' INT
  trap 'seqlearn_stop_requested=TERM' TERM
  trap 'seqlearn_stop_requested=HUP' HUP
fi
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
# SEQLEARN_MPIEXEC names the launcher program (default mpirun; e.g. mpiexec.mpich). Its MPI is
# told by its --version: Open MPI gets the lines above; MPICH's Hydra gets -bind-to core:T (fits)
# or -bind-to none; any other MPI gets no binding flags.
# RANKS, THREADS and SEQLEARN_CORES must be plain decimal numbers (leading zeros are dropped,
# never read as octal) up to 1000000; anything else: one line, exit code 2. Nothing is evaluated.
# Exit codes when executed with a PROGRAM: the program's (0 done, 3 stopped with a checkpoint,
# 2 bad input, ...), or 4 when a stop request came before any state existed: before mpirun was
# started, or while mpirun and its ranks were still starting (nothing written; run it again;
# jobs/run.sbatch retries). docs/checkpoint.md, "Stopping through a launcher".

# seqlearn_count NAME VALUE MIN MAX: prints VALUE without leading zeros when it is a decimal
# whole number within [MIN, MAX]; otherwise one line naming NAME on stderr, status 2.
seqlearn_count() {
  local name=$1 value=$2 min=$3 max=$4
  if [[ ! "$value" =~ ^[0-9]{1,18}$ ]] || ((10#$value < min || 10#$value > max)); then
    echo "launch.sh: $name must be a whole number from $min to $max, got '${value//$'\n'/\\n}'" >&2
    return 2
  fi
  echo $((10#$value))
}

# seqlearn_mpi_kind [MPIEXEC]: openmpi, hydra or other, from MPIEXEC --version (cached).
seqlearn_mpi_kind() {
  local exe=${1:-${SEQLEARN_MPIEXEC:-mpirun}} version
  if [[ "${seqlearn_mpi_kind_of:-}" == "$exe" ]]; then echo "$seqlearn_mpi_kind_is"; return; fi
  version=$("$exe" --version 2>&1 </dev/null || true)
  case $version in
    *"Open MPI"* | *OpenRTE*) seqlearn_mpi_kind_is=openmpi ;;
    *HYDRA* | *Hydra* | *MPICH*) seqlearn_mpi_kind_is=hydra ;;
    *) seqlearn_mpi_kind_is=other ;;
  esac
  seqlearn_mpi_kind_of=$exe
  echo "$seqlearn_mpi_kind_is"
}

# seqlearn_cores: the physical cores (not hardware threads) this process may run on.
seqlearn_cores() {
  if [[ -n "${SEQLEARN_CORES:-}" ]]; then seqlearn_count SEQLEARN_CORES "$SEQLEARN_CORES" 1 1000000; return; fi
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
  local ranks threads cores exe=${SEQLEARN_MPIEXEC:-mpirun} kind
  ranks=$(seqlearn_count "the rank count (RANKS)" "$1" 1 1000000) || return 2
  threads=$(seqlearn_count "the thread count (THREADS)" "$2" 0 1000000) || return 2
  cores=$(seqlearn_cores) || return 2
  kind=$(seqlearn_mpi_kind "$exe")
  # T = 0 (as for --threads 0, "auto"): the cores shared out evenly, at least 1 per rank.
  ((threads > 0)) || threads=$((cores / ranks > 0 ? cores / ranks : 1))
  export OMP_NUM_THREADS=$threads
  if ((ranks * threads <= cores)); then
    # Every thread has a core: let waiting threads spin a while before sleeping (the OpenMP
    # runtime's default), since the team meets at barriers several times per step.
    unset OMP_WAIT_POLICY
    export OMP_PROC_BIND=close OMP_PLACES=cores
    case $kind in
      openmpi) SEQLEARN_MPIRUN=("$exe" -n "$ranks" --map-by "slot:PE=$threads" --bind-to core) ;;
      hydra) SEQLEARN_MPIRUN=("$exe" -n "$ranks" -bind-to "core:$threads") ;;
      *) SEQLEARN_MPIRUN=("$exe" -n "$ranks") ;;
    esac
  else
    echo "launch.sh: $ranks ranks x $threads threads > $cores cores: oversubscribed, unbound" \
         "(OMP_WAIT_POLICY=passive); slower than R x T <= cores" >&2
    export OMP_PROC_BIND=false OMP_WAIT_POLICY=passive
    unset OMP_PLACES
    case $kind in
      openmpi) SEQLEARN_MPIRUN=("$exe" -n "$ranks" --oversubscribe --bind-to none) ;;
      hydra) SEQLEARN_MPIRUN=("$exe" -n "$ranks" -bind-to none) ;;
      *) SEQLEARN_MPIRUN=("$exe" -n "$ranks") ;;
    esac
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
# (ess_base_forward_signals), and seqlearn_mpi stops on those as on SIGTERM. MPICH's
# mpiexec.hydra forwards SIGINT/SIGTERM to every rank and waits for them, but dies of SIGUSR2
# (measured, MPICH 4.0.2): it gets SIGTERM. So mpirun runs in its own session (a Ctrl-C at the
# terminal reaches only this shell), and this shell turns SIGINT/SIGTERM into the signal that
# mpirun forwards, sent once mpirun has its handler for it (/proc/PID/status SigCgt; before,
# the signal would kill mpirun) and every rank has its own (SEQLEARN_READY_DIR/ready.PID, made
# by seqlearn_mpi's first instructions; before, the signal would kill the rank), then waits for
# it and returns its exit code. Exit code 4 (nothing written, run again) when the request came
# before mpirun was started, or when the forwarded stop still ended the job by a signal (a
# program that never says it is ready: sent after 10 s anyway).
seqlearn_guarded() {
  local code signal=USR2 bit=11
  if [[ "$(seqlearn_mpi_kind "$1")" == hydra ]]; then signal=TERM bit=14; fi
  seqlearn_child="" seqlearn_forwarded=""
  # shellcheck disable=SC2064  # the signal and its bit are fixed now
  trap "seqlearn_stop_requested=INT; seqlearn_forward $signal $bit" INT
  # shellcheck disable=SC2064
  trap "seqlearn_stop_requested=TERM; seqlearn_forward $signal $bit" TERM
  # shellcheck disable=SC2064  # a closed terminal stops the run as cleanly (mpirun runs on)
  trap "seqlearn_stop_requested=HUP; seqlearn_forward $signal $bit" HUP
  if [[ -n "${seqlearn_stop_requested:-}" ]]; then
    trap - INT TERM HUP
    echo "launch.sh: stop requested (SIG$seqlearn_stop_requested) before the run started:" \
         "nothing started, nothing written; exit code 4 (run it again)" >&2
    return 4
  fi
  # The ranks say when their stop handlers are in place (a file each in SEQLEARN_READY_DIR,
  # docs/design.md "Files"): a stop forwarded before that would kill them (exit 4).
  seqlearn_ready_dir=$(mktemp -d "${TMPDIR:-/tmp}/seqlearn-ready.XXXXXX") || seqlearn_ready_dir=""
  seqlearn_ranks=1
  local previous="" arg
  for arg in "$@"; do
    [[ "$previous" == -n || "$previous" == -np ]] && [[ "$arg" =~ ^[0-9]+$ ]] && seqlearn_ranks=$arg
    previous=$arg
  done
  if [[ -n "$seqlearn_ready_dir" ]]; then
    SEQLEARN_READY_DIR=$seqlearn_ready_dir setsid "$@" &
  else
    setsid "$@" &
  fi
  seqlearn_child=$!
  # A request that came while mpirun was being started (the trap saw no pid yet):
  [[ -n "${seqlearn_stop_requested:-}" && -z "$seqlearn_forwarded" ]] && seqlearn_forward "$signal" "$bit"
  while true; do
    wait "$seqlearn_child"
    code=$?
    kill -0 "$seqlearn_child" 2>/dev/null || break  # wait was only interrupted by a trapped signal
  done
  # mpirun may have ended while a trap ran (wait then returned 128 + the trapped signal): its
  # own status, which bash keeps for a waited-for child.
  wait "$seqlearn_child" 2>/dev/null
  code=$?
  trap - INT TERM HUP
  [[ -n "$seqlearn_ready_dir" ]] && rm -rf "$seqlearn_ready_dir"
  # Killed by a signal: Open MPI's mpirun exits 128 + N, hydra exits N itself (15 measured).
  if [[ -n "$seqlearn_forwarded" ]] && ((code > 128 && code != 255)) ||
     [[ -n "$seqlearn_forwarded" && $signal == TERM && $code -eq 15 ]]; then
    echo "launch.sh: the stop request (SIG$seqlearn_stop_requested) ended the job while it was" \
         "starting (exit code $code: killed by signal $((code - 128))): no state to save;" \
         "exit code 4 (run it again)" >&2
    return 4
  fi
  # MPICH 4.0.2's hydra often returns 0 after a forwarded SIGTERM although every rank exited 3
  # (measured with a wrapper printing each rank's code): a stop was asked for and the ranks
  # honour it, so report the stop.
  if [[ -n "$seqlearn_forwarded" && $signal == TERM && $code -eq 0 ]]; then
    echo "launch.sh: mpiexec.hydra returned 0 after the stop request; it does so for stopped" \
         "runs too (MPICH 4.0.2): exit code 3 (the log's 'stopped on request' line tells)" >&2
    return 3
  fi
  return "$code"
}

# seqlearn_ready_ranks: how many ranks have said that their stop handlers are in place.
seqlearn_ready_ranks() {
  local -a ready
  [[ -n "${seqlearn_ready_dir:-}" ]] || { echo 0; return; }
  ready=("$seqlearn_ready_dir"/ready.*)
  [[ -e "${ready[0]}" ]] && echo "${#ready[@]}" || echo 0
}

# seqlearn_forward SIGNAL BIT: SIGNAL to mpirun (seqlearn_child) once mpirun catches it (BIT of
# SigCgt in /proc/PID/status) and every rank has its handlers (seqlearn_ready_ranks; at most
# 10 s in all, then at once: a program that does not say so), or not at all when no mpirun runs
# yet (the request stays in seqlearn_stop_requested) or one was already sent.
seqlearn_forward() {
  local signal=$1 bit=$2 pid=${seqlearn_child:-} caught
  [[ -n "$pid" && -z "${seqlearn_forwarded:-}" ]] || return 0
  seqlearn_forwarded=1
  local deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    caught=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null)
    # (no ready folder, mktemp having failed: mpirun's handler is all there is to wait for)
    [[ -n "$caught" ]] && (((16#$caught >> bit) & 1)) &&
      [[ -z "${seqlearn_ready_dir:-}" || $(seqlearn_ready_ranks) -ge ${seqlearn_ranks:-1} ]] && break
    [[ -r "/proc/$pid/status" ]] || break  # no /proc: send at once
    sleep 0.01
  done
  echo "launch.sh: stop requested: forwarding it to the ranks as SIG$signal (mpirun $pid)" >&2
  kill "-$signal" "$pid" 2>/dev/null
  return 0
}

# seqlearn_mpirun R PROGRAM [ARGS...]: PROGRAM on R ranks x ${SEQLEARN_THREADS:-1} threads,
# with Ctrl-C/SIGTERM turned into a clean stop (seqlearn_guarded).
seqlearn_mpirun() {
  local ranks=$1
  shift
  seqlearn_launch "$ranks" "${SEQLEARN_THREADS:-1}" || return 2
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
  seqlearn_launch "$1" "$2" || exit 2
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
