#!/usr/bin/env bash
# Profiles one rank of an MPI run with perf (docs/scaling.md section 4, sitting D): put it
# between mpirun and the program, and the rank PERF_RANK (default 0) runs under
# `perf record -e cpu-clock -F ${PERF_HZ:-10000}`, writing ${PERF_OUT:-perf.rank<R>.data}; the other
# ranks run as they are. Open MPI names a rank in OMPI_COMM_WORLD_RANK, MPICH and SLURM in
# PMI_RANK / SLURM_PROCID. A bad setting ends every rank with exit 2 and one message (rank 0's).
# Usage: PERF_RANK=27 mpirun -n 64 bench/perf_one_rank.sh build/release/seqlearn_mpi ARGS...
#        perf report -i perf.rank27.data --no-children -n --sort symbol --stdio
set -euo pipefail
rank=${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-${SLURM_PROCID:-0}}}
size=${OMPI_COMM_WORLD_SIZE:-${PMI_SIZE:-${SLURM_NTASKS:-}}}
refuse() {
  [[ "$rank" == 0 ]] && echo "perf_one_rank.sh: $*" >&2
  exit 2
}
(( $# >= 1 )) || refuse "usage: mpirun ... bench/perf_one_rank.sh PROGRAM [ARGS...]"
want=${PERF_RANK:-0}
hz=${PERF_HZ:-10000}
[[ "$want" =~ ^(0|[1-9][0-9]{0,5})$ ]] || refuse "PERF_RANK must be a rank number (no sign, no leading zero), not '$want'"
if [[ "$size" =~ ^[1-9][0-9]{0,6}$ ]] && (( want >= size )); then
  refuse "PERF_RANK $want is not a rank of this job (0 to $((size - 1)))"
fi
[[ "$hz" =~ ^[1-9][0-9]{0,5}$ ]] || refuse "PERF_HZ must be a sampling frequency in Hz, not '$hz'"
out=${PERF_OUT:-perf.rank$want.data}
[[ -n "$out" && "$out" != -* ]] || refuse "PERF_OUT must name a file, not '$out'"
folder=$(dirname -- "$out")
[[ -d "$folder" && -w "$folder" ]] || refuse "PERF_OUT '$out': its folder is not a writable folder"
[[ ! -e "$out" && ! -L "$out" || -f "$out" && ! -L "$out" ]] || refuse "PERF_OUT '$out' exists and is not a plain file"
if [[ "$rank" == "$want" ]]; then
  exec perf record -e cpu-clock -F "$hz" -o "$out" -- "$@"
fi
exec "$@"
