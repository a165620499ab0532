#!/usr/bin/env bash
# The install target as a cluster user uses it (docs/cluster.md): cmake --install BUILD into a
# temporary prefix P; the installed P/bin/seqlearn_mpi --help and a tiny run under mpirun from
# an unrelated folder; the installed P/bin/seqlearn-analyze on its output (through the python3
# chosen by scripts/python.sh, since the tools start with #!/usr/bin/env python3); the installed
# jobs point at P/bin. The prefix is removed at the end.
# Usage: install.sh BUILD_DIR   (the configured and built folder; CTest passes its own, and
# the cmake that configured it as SEQLEARN_CMAKE; default: cmake on PATH)
set -u
cmake=${SEQLEARN_CMAKE:-cmake}
build=${1:?usage: install.sh BUILD_DIR (a configured and built seqlearn build folder)}
root=$(cd "$(dirname "$0")/../.." && pwd)
[[ -f "$build/cmake_install.cmake" ]] || { echo "FAIL no configured build in $build"; exit 1; }
prefix=$(mktemp -d /tmp/seqlearn-install.XXXXXX)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
failures=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
source "$root/scripts/python.sh"
seqlearn_python || { echo "FAIL no python3 with h5py, numpy and matplotlib"; exit 1; }

check "cmake --install into $prefix" bash -c "'$cmake' --install '$build' --prefix '$prefix' >'$work/install.log' 2>&1" ||
  tail -5 "$work/install.log"
for file in bin/seqlearn_mpi bin/seqlearn-analyze bin/seqlearn-plot bin/seqlearn-sweep; do
  check "installed and executable: $file" test -x "$prefix/$file"
done
for file in share/seqlearn/configs/default.ini share/seqlearn/jobs/run.sbatch share/seqlearn/jobs/lib.sh \
            share/seqlearn/docs/cluster.md; do
  check "installed: $file" test -s "$prefix/$file"
done
if [[ -d "$root/python" ]]; then
  check "installed: the Python package (lib/seqlearn/python)" test -d "$prefix/lib/seqlearn/python"
fi
check "the tools start with #!/usr/bin/env python3" \
  bash -c "head -qn1 '$prefix'/bin/seqlearn-{analyze,plot,sweep} | grep -vcxF '#!/usr/bin/env python3' | grep -qx 0"
check "installed jobs source the installed lib.sh" \
  grep -qxF "source \"$prefix/share/seqlearn/jobs/lib.sh\"" "$prefix/share/seqlearn/jobs/run.sbatch"
check "installed lib.sh runs P/bin/seqlearn_mpi by default" \
  bash -c "cd '$work' && SLURM_SUBMIT_DIR='$work' bash -c 'source \"$prefix/share/seqlearn/jobs/lib.sh\"' | grep -qxF 'seqlearn: program $prefix/bin/seqlearn_mpi'"

cd "$work" || exit 1  # nothing of the source or build tree nearby
check "installed seqlearn_mpi --help" bash -c "mpirun -n 1 '$prefix/bin/seqlearn_mpi' --help >help.txt && grep -q network.grid help.txt"
check "installed seqlearn_mpi: tiny run on 2 ranks" bash -c "mpirun -n 2 --oversubscribe '$prefix/bin/seqlearn_mpi' \
  --network.grid 3x3 --run.protocol train:200 --record.neurons all --threads 1 --output run.h5 >run.log 2>&1 || { tail -5 run.log; exit 1; }"
check "installed seqlearn-analyze on its output" bash -c "'$SEQLEARN_PYTHON' '$prefix/bin/seqlearn-analyze' run.h5 --json run.json >analyze.log 2>&1 || { tail -5 analyze.log; exit 1; }"
check "analysis JSON written" test -s run.json
# The installed tool run directly (its shebang), with the chosen python3 first on PATH.
check "installed seqlearn-analyze run directly" bash -c "PATH='$(dirname "$SEQLEARN_PYTHON")':\$PATH '$prefix/bin/seqlearn-analyze' run.h5 --json - >/dev/null"
# A symbolic link to a tool (e.g. from ~/bin) still finds the modules beside the real file.
ln -s "$prefix/bin/seqlearn-analyze" linked-analyze
check "a link to the installed seqlearn-analyze" bash -c "'$SEQLEARN_PYTHON' linked-analyze run.h5 --json - >/dev/null"

[[ $failures -eq 0 ]] && echo "install: all checks passed"
[[ $failures -eq 0 ]]
