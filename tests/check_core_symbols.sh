#!/usr/bin/env bash
# The model layer links neither MPI nor HDF5 (issue 16): no object file of the core library
# (CMakeLists.txt, seqlearn_core) references or defines an MPI symbol (MPI_*, PMPI_*, Open MPI's
# ompi_*), an HDF5 symbol (H5*) or seqlearn's HDF5 wrapper (seqlearn::H5*).
# Usage: check_core_symbols.sh NM LIBSEQLEARN_CORE.a   (CTest core_links_no_mpi_hdf5, label unit)
set -euo pipefail
nm_program=$1
library=$2
[[ -f $library ]] || { echo "FAIL: no core library at $library" >&2; exit 1; }
# nm -A prefixes every symbol with "library:object:", so a finding names its object file.
symbols=$("$nm_program" -A -C "$library")
members=$("$nm_program" -A "$library" | cut -d: -f2 | sort -u | wc -l)
[[ $members -gt 0 ]] || { echo "FAIL: nm found no object files in $library" >&2; exit 1; }
found=$(grep -E '[^A-Za-z0-9_](P?MPI_|ompi_|H5)' <<<"$symbols" || true)
if [[ -n $found ]]; then
  echo "FAIL: the core library's object files name MPI or HDF5 symbols:" >&2
  echo "$found" >&2
  exit 1
fi
echo "OK: $members object files of $(basename "$library") reference no MPI or HDF5 symbol"
