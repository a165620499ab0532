# Sourced by the scripts: Open MPI as root (containers, CI) and sane OpenMP defaults.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# One thread per rank unless asked otherwise; idle threads sleep instead of spinning, which
# matters when ranks x threads exceed the cores.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
