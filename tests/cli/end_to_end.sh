#!/usr/bin/env bash
# The command-line program end to end: the same run at 1, 2 and 3 ranks and with 2 threads
# writes identical HDF5 content (h5diff over every group but /config and /run, which hold the
# rank count and timings); an existing result is never overwritten without --overwrite;
# --help and --version work.
# Usage: end_to_end.sh SEQLEARN_MPI
set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cli_begin end_to_end.sh "${1:-}"
args=(--run.protocol train:3000,test:1000 --record.dt_rec 10 --network.grid 6x5)

check "np=1 run" mpirun -n 1 "$binary" "${args[@]}" --threads 1 --output "$work/np1.h5"
check "np=2 run" mpirun -n 2 --oversubscribe "$binary" "${args[@]}" --threads 1 --output "$work/np2.h5"
check "np=3 run" mpirun -n 3 --oversubscribe "$binary" "${args[@]}" --threads 1 --output "$work/np3.h5"
check "np=1, 2 threads run" mpirun -n 1 "$binary" "${args[@]}" --threads 2 --output "$work/t2.h5"
for other in np2 np3 t2; do
  for group in /network /spikes /input /phases /traces; do
    check "$other $group identical to np1" h5diff "$work/np1.h5" "$work/$other.h5" "$group" "$group"
  done
done
check "np=2 without traces or synapse list" mpirun -n 2 --oversubscribe "$binary" --run.protocol train:500 \
  --record.dt_rec 0 --record.synapses false --output "$work/bare.h5"
check "bare file has empty traces" bash -c "h5ls '$work/bare.h5/traces' | grep -q 'u .*Dataset {0, 20}'"
check "no partial file left" test ! -e "$work/np1.h5.partial"
check "spikes were written" bash -c "h5ls '$work/np1.h5/spikes' | grep -q 'step .*Dataset {[1-9]'"

before=$(md5sum <"$work/np1.h5")
mpirun -n 2 --oversubscribe "$binary" "${args[@]}" --output "$work/np1.h5" >/dev/null 2>"$work/err"
code=$?
check "existing output refused with exit 2" test $code -eq 2
check "refusal names output.file" grep -q "output.file" "$work/err"
check "existing output unchanged" test "$before" = "$(md5sum <"$work/np1.h5")"
check "--overwrite replaces it" mpirun -n 1 "$binary" "${args[@]}" --seed 5 --output "$work/np1.h5" --overwrite
check "replaced file differs" test "$before" != "$(md5sum <"$work/np1.h5")"
check "--help exits 0 and lists keys" bash -c "'$binary' --help | grep -q 'network.grid'"
check "--version" bash -c "'$binary' --version | grep -q 'seqlearn_mpi'"
cli_end "end-to-end"
