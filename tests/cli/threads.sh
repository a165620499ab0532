#!/usr/bin/env bash
# Threads as launched (docs/parallel.md): with Open MPI's default binding (one core per rank
# when ranks <= 2) a rank asked for 2 threads has 1 core, and rank 0 warns once, naming the
# launch line that fixes it; bound to enough cores it does not warn; --threads 0 (auto) gives
# a small network one thread and says why, and unbound ranks their share of the cores; more
# threads than that share warn too; results are identical for 1 and 2 threads.
# Usage: threads.sh SEQLEARN_MPI
set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cli_begin threads.sh "${1:-}"
args=(--network.grid 4x4 --run.protocol train:300,test:100 --record.dt_rec 10)

mpirun -n 1 --bind-to core "$binary" "${args[@]}" --threads 2 --output bound.h5 >bound.out 2>bound.err
check "2 threads on 1 core: runs" test $? -eq 0
check "2 threads on 1 core: warns" grep -q "warning: 2 threads per rank, but a rank may run on only 1 core" bound.err
check "2 threads on 1 core: names the fix" grep -q -- "--map-by slot:PE=2 --bind-to core" bound.err
check "2 threads on 1 core: warns once" test "$(grep -c warning bound.err)" -eq 1
mpirun -n 2 "$binary" "${args[@]}" --threads 1 --output two.h5 >two.out 2>two.err
check "2 ranks x 1 thread: runs" test $? -eq 0
check "2 ranks x 1 thread: no warning" bash -c "! grep -q warning two.err"
if (( $(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc) >= 2 )); then  # nproc obeys OMP_NUM_THREADS
  # As the README launches it: the OpenMP runtime pins the main thread to its first place
  # before the program starts, so the program must count the places, not its own mask.
  OMP_NUM_THREADS=2 OMP_PROC_BIND=close OMP_PLACES=cores \
    mpirun -n 1 --map-by slot:PE=2 --bind-to core "$binary" "${args[@]}" --threads 2 \
    --output free.h5 >free.out 2>free.err
  check "2 threads on 2 cores: runs" test $? -eq 0
  check "2 threads on 2 cores: no warning" bash -c "! grep -q warning free.err"
  for group in /spikes /traces /network; do
    check "2 threads on 2 cores: $group identical to 2 ranks" h5diff free.h5 two.h5 "$group" "$group"
  done
fi
env -u OMP_NUM_THREADS mpirun -n 1 --bind-to none "$binary" "${args[@]}" --threads 0 \
  --output auto.h5 >auto.out 2>auto.err
check "auto: runs" test $? -eq 0
check "auto: a small network gets 1 thread, and says why" grep -q "1 thread(s) (auto: one thread per 100 thousand local synapses)" auto.out
# Unbound ranks share the node's cores: auto gives each its share, and more threads than the
# share draw the warning (a 32x32 grid: 660 000 synapses per rank, work for 6 threads).
processors=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
if (( processors >= 2 )); then
  big=(--network.grid 32x32 --network.connectivity fixed_indegree --network.boundary periodic
       --run.protocol train:20 --record.dt_rec 0)
  each=$(( processors / 2 < 6 ? processors / 2 : 6 ))
  env -u OMP_NUM_THREADS mpirun -n 2 --bind-to none "$binary" "${big[@]}" --threads 0 \
    --output shared_auto.h5 >shared_auto.out 2>shared_auto.err
  check "2 unbound ranks, auto: runs" test $? -eq 0
  check "2 unbound ranks, auto: $each thread(s) each, and says why" \
    grep -qF "2 rank(s) x $each thread(s) (auto: $processors cores shared by 2 ranks)" shared_auto.out
  mpirun -n 2 --bind-to none "$binary" "${big[@]}" --threads "$processors" \
    --output shared_over.h5 >shared_over.out 2>shared_over.err
  check "2 unbound ranks x $processors threads: runs" test $? -eq 0
  check "2 unbound ranks x $processors threads: warns that the ranks share the cores" \
    grep -q "warning: $processors threads per rank, but up to 2 ranks of a node share the cores" shared_over.err
  check "2 unbound ranks x $processors threads: names the fix" grep -q -- "--bind-to core" shared_over.err
fi
# The warning's launch line must run on this node: 2 ranks bound to a core each and asking for
# 2 threads fit 2 x 2 only on 4 processors; 3 unbound ranks x 2 on fewer than 3 processors
# fit no bound line at all.
if (( processors >= 2 && processors < 4 )); then
  mpirun -n 2 --bind-to core "$binary" "${args[@]}" --threads 2 --output hint.h5 >hint.out 2>hint.err
  check "2 ranks x 2 threads on $processors processors: the hint fits the node" \
    grep -q "at most $(( processors / 2 )) thread(s) each: launch with: mpirun -n 2 --map-by slot:PE=$(( processors / 2 )) " hint.err
  check "2 ranks x 2 threads on $processors processors: no line for 4" bash -c "! grep -q 'PE=2 ' hint.err"
fi
if (( processors < 3 )); then
  mpirun -n 3 --oversubscribe --bind-to none "$binary" "${args[@]}" --threads 2 --output crowded.h5 \
    >crowded.out 2>crowded.err
  check "3 ranks on $processors processors: advice, no bound line" \
    bash -c "grep -q 'put fewer ranks on it' crowded.err && ! grep -q -- '--map-by' crowded.err"
fi
# Unbound ranks with OpenMP binding: every rank's first thread on the first place.
OMP_PLACES=cores OMP_PROC_BIND=close mpirun -n 2 --bind-to none "$binary" "${args[@]}" --threads 1 \
  --output piled.h5 >piled.out 2>piled.err
check "unbound ranks, OMP_PROC_BIND set: runs" test $? -eq 0
check "unbound ranks, OMP_PROC_BIND set: warns that their threads pile up" \
  grep -q "start their threads on the same OpenMP place" piled.err
# One place holding both processors: the ranks spread over it, nothing to say.
OMP_PLACES='{0:2}' OMP_PROC_BIND=close mpirun -n 2 --bind-to none "$binary" "${args[@]}" \
  --threads 1 --output wide.h5 >wide.out 2>wide.err
check "unbound ranks on one wide place: no warning" bash -c "! grep -q warning wide.err"
# Two ranks crowded onto one processor of two; an oversubscribed node (3 ranks on 2) is not.
if (( processors >= 2 )); then
  mpirun -n 2 --cpu-set 0 "$binary" "${args[@]}" --threads 1 --output crowd.h5 >crowd.out 2>crowd.err
  check "2 ranks on 1 of $processors processors: warns" grep -q "more ranks of a node than the cores" crowd.err
  mpirun -n $(( processors + 1 )) --oversubscribe "$binary" "${args[@]}" --threads 1 \
    --output over.h5 >over.out 2>over.err
  check "$(( processors + 1 )) ranks x 1 thread on $processors processors: no warning" \
    bash -c "! grep -q warning over.err"
fi
# The printed reason names OMP_THREAD_LIMIT when it caps auto.
env -u OMP_NUM_THREADS OMP_THREAD_LIMIT=1 mpirun -n 1 --bind-to none "$binary" "${args[@]}" \
  --threads 0 --output tl.h5 >tl.out 2>tl.err
check "auto under OMP_THREAD_LIMIT=1: says so" grep -qF "1 thread(s) (auto: OMP_THREAD_LIMIT=1)" tl.out
OMP_THREAD_LIMIT=1 mpirun -n 2 --bind-to none "$binary" "${args[@]}" --threads 2 --output limit.h5 \
  >limit.out 2>limit.err
check "OMP_THREAD_LIMIT below --threads: exit 2" test $? -eq 2
check "OMP_THREAD_LIMIT below --threads: names run.threads" grep -q "for run.threads: OMP_THREAD_LIMIT allows at most 1 thread(s)" limit.err
check "OMP_THREAD_LIMIT below --threads: nothing written" test ! -e limit.h5
for group in /spikes /traces; do
  check "1 core and 2 threads: $group identical to 2 ranks" h5diff bound.h5 two.h5 "$group" "$group"
done
cli_end threads || { tail -5 ./*.err; exit 1; }
