#!/usr/bin/env bash
# scripts/launch.sh (issue 18 D16, D10): counts are checked decimal numbers (no octal, no
# overflow, nothing evaluated; exit 2 with one line), and SIGTERM at any moment after start ends
# with exit 3 and a checkpoint, or exit 4 (stopped before any state existed; nothing written).
# Usage: tests/cli/launch.sh SEQLEARN_MPI
launch=$(cd "$(dirname "$0")/../.." && pwd)/scripts/launch.sh
source "$(dirname "$0")/lib.sh"
cli_begin cli_launch "${1:-}"
hostile='PATH[$(touch PWNED)]'
# refused R T [VAR=VALUE...]: launch.sh R T exits 2 with exactly one line, runs nothing.
refused() {
  local ranks=$1 threads=$2 out code
  shift 2
  out=$(env "$@" bash "$launch" "$ranks" "$threads" 2>&1); code=$?
  [[ $code -eq 2 && $(wc -l <<<"$out") -eq 1 && "$out" == launch.sh:* && ! -e PWNED ]] ||
    { echo "  got exit $code: $out"; return 1; }
}
check "D16 launch.sh 1 08: 8 threads (decimal, leading zero dropped), exit 0, no shell error" \
  bash -c "out=\$(SEQLEARN_CORES=64 bash '$launch' 1 08 2>&1) && [[ \$out == 'OMP_NUM_THREADS=8 '* && \$out != *error* ]]"
check "D16 launch.sh 09 1: 9 ranks" bash -c "SEQLEARN_CORES=64 bash '$launch' 09 1 2>&1 | grep -q -- '-n 9 '"
check "D16 launch.sh 1 99999999999999999999: exit 2 (no 64-bit overflow)" refused 1 99999999999999999999
check "D16 launch.sh 4294967296 4294967296: exit 2 (bounds)" refused 4294967296 4294967296
check "launch.sh 1 -1: exit 2" refused 1 -1
check "launch.sh '' 1: exit 2" refused '' 1
check "launch.sh 0 1: exit 2" refused 0 1
check "launch.sh 1 '$hostile': exit 2, not run" refused 1 "$hostile"
check "launch.sh '1 2' 1: exit 2" refused '1 2' 1
check "SEQLEARN_CORES='$hostile': exit 2, not run" refused 1 1 SEQLEARN_CORES="$hostile"
check "SEQLEARN_CORES=1x: exit 2" refused 1 1 SEQLEARN_CORES=1x
check "launch.sh 2 1 prints a line with 1 thread" bash -c "bash '$launch' 2 1 2>/dev/null | grep -q '^OMP_NUM_THREADS=1 '"
check "launch.sh 1 010 means 10 threads (leading zeros dropped)" bash -c "SEQLEARN_CORES=64 bash '$launch' 1 010 2>/dev/null | grep -q '^OMP_NUM_THREADS=10 '"

# D10: SIGTERM to launch.sh after 0.02 to 1.5 s: exit 3 with a checkpoint, or 4 with no file.
# (Before bash has read the script's first line, a few ms, the signal's default action ends it
# with 143, as for any program.)
for delay in 0.02 0.05 0.2 0.5 1 1.5; do
  rm -f o.h5 o.ckpt.h5
  bash "$launch" 2 1 "$binary" --threads 1 --network.grid 3x3 --run.protocol train:2000000 \
    --record.dt_rec 0 --output o.h5 >"log.$delay" 2>&1 &
  pid=$!
  sleep "$delay"
  kill -TERM "$pid"
  wait "$pid"
  code=$?
  check "D10 SIGTERM to launch.sh at ${delay}s: exit $code is 3 with checkpoint and output, or 4 with no output" \
    bash -c "[[ ($code -eq 3 && -f o.ckpt.h5 && -f o.h5) || ($code -eq 4 && ! -e o.h5) ]]" ||
    tail -3 "log.$delay"
  # Once mpirun runs, the stop waits for the ranks' handlers (SEQLEARN_READY_DIR): a clean stop.
  if grep -q "forwarding it to the ranks" "log.$delay"; then
    check "D10 SIGTERM at ${delay}s after mpirun started: exit 3, not 4 (got $code)" test "$code" -eq 3
  fi
done
# The hostile round after the fixes: SIGHUP (a closed terminal) stops the run as SIGTERM does
# (it left mpirun and the ranks running); without a folder for the ready files (TMPDIR that
# cannot be made) the stop still goes out at once and mpirun's own exit code is reported (it
# was held back and the trap's 143 taken for mpirun's: exit 4 for a complete run).
for case in HUP TMPDIR; do
  rm -f o.h5 o.ckpt.h5
  if [[ $case == HUP ]]; then
    bash "$launch" 2 1 "$binary" --threads 1 --network.grid 3x3 --run.protocol train:2000000 \
      --record.dt_rec 0 --output o.h5 >"log.$case" 2>&1 &
  else
    TMPDIR=$work/missing/folder bash "$launch" 2 1 "$binary" --threads 1 --network.grid 3x3 \
      --run.protocol train:2000000 --record.dt_rec 0 --output o.h5 >"log.$case" 2>&1 &
  fi
  pid=$!
  sleep 1.5
  start=$SECONDS
  kill "-${case/TMPDIR/TERM}" "$pid"
  wait "$pid"
  code=$?
  check "$case: exit 3 with a checkpoint and the output (got $code)" \
    bash -c "[[ $code -eq 3 && -f o.ckpt.h5 && -f o.h5 ]]" || tail -3 "log.$case"
  check "$case: stopped at once ($((SECONDS - start)) s), no rank left" \
    bash -c "(( $((SECONDS - start)) < 9 )) && ! pgrep -f -- '^$binary .*--output o.h5' >/dev/null"
done
cli_end cli_launch
