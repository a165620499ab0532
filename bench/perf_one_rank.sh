#!/usr/bin/env bash
# Profiles one rank of an MPI run with perf (docs/scaling.md section 4, sitting D): put it
# between mpirun and the program, and the rank PERF_RANK (default 0) runs under
# `perf record -e cpu-clock -F ${PERF_HZ:-10000}`, writing ${PERF_OUT:-perf.rank<R>.data}; the other
# ranks run as they are. Open MPI names a rank in OMPI_COMM_WORLD_RANK, MPICH and SLURM in
# PMI_RANK / SLURM_PROCID.
# Usage: PERF_RANK=27 mpirun -n 64 bench/perf_one_rank.sh build/release/seqlearn_mpi ARGS...
#        perf report -i perf.rank27.data --no-children -n --sort symbol --stdio
set -euo pipefail
(( $# >= 1 )) || { echo "perf_one_rank.sh: usage: mpirun ... bench/perf_one_rank.sh PROGRAM [ARGS...]" >&2; exit 2; }
rank=${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-${SLURM_PROCID:-0}}}
want=${PERF_RANK:-0}
hz=${PERF_HZ:-10000}
[[ "$want" =~ ^[0-9]{1,6}$ ]] || { echo "perf_one_rank.sh: PERF_RANK must be a rank number" >&2; exit 2; }
[[ "$hz" =~ ^[1-9][0-9]{0,5}$ ]] || { echo "perf_one_rank.sh: PERF_HZ must be a frequency in Hz" >&2; exit 2; }
if [[ "$rank" == "$want" ]]; then
  exec perf record -e cpu-clock -F "$hz" -o "${PERF_OUT:-perf.rank$want.data}" -- "$@"
fi
exec "$@"
