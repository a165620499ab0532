# Sourced by the scripts: Open MPI as root (containers, CI) and sane OpenMP defaults.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# One thread per rank unless asked otherwise; idle threads sleep instead of spinning, which
# matters when ranks x threads exceed the cores.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
# Stopping a run: Open MPI 4.1's mpirun does not forward SIGINT/SIGTERM; it kills the ranks
# (SIGTERM, then SIGKILL odls_base_sigkill_timeout = 1 s later) and exits 1. A small run still
# writes its checkpoint and output in that second; a large one keeps only its previous
# checkpoint. Launch through scripts/launch.sh (seqlearn_mpirun, run.sh) to turn Ctrl-C/SIGTERM
# into SIGUSR2, which mpirun forwards, for a clean stop with exit code 3. Raising
# odls_base_sigkill_timeout is not done here: it delays SIGTERM by as much, and every MPI_Abort
# (a failing rank) by twice as much (docs/checkpoint.md).
