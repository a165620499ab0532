#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages a command needs, if any is missing (apt-get update runs
# once, only then). Safe to run again. On any other system it installs nothing and exits 0:
# load the dependencies with the module system instead (docs/cluster.md).
# Usage: scripts/install-deps.sh [run|test|mpich]
#   run   what ./run.sh needs: the compilers, CMake, Open MPI, parallel HDF5, Boost, Random123,
#         GoogleTest (the release preset configures the tests) and python3 with h5py, numpy,
#         matplotlib for the figures and the analysis
#   test  (default) what ./test.sh needs: all of run's, plus hdf5-tools (h5diff), pytest,
#         clang with libFuzzer (tests/fuzz) and munge, slurmctld, slurmd, slurm-client (the
#         single-node SLURM of tests/slurm)
set -euo pipefail
what=${1:-test}
run_packages=(
  build-essential cmake pkg-config
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev
  libboost-program-options-dev libgtest-dev librandom123-dev
  python3 python3-h5py python3-numpy python3-matplotlib
)
test_packages=(
  hdf5-tools python3-pytest python3-neo clang libclang-rt-14-dev
  munge slurmctld slurmd slurm-client
)
mpich_packages=(mpich libmpich-dev libhdf5-mpich-dev)
case $what in
  run) packages=("${run_packages[@]}") ;;
  mpich) packages=("${run_packages[@]}" "${mpich_packages[@]}") ;;
  test) packages=("${run_packages[@]}" "${test_packages[@]}") ;;
  *) echo "usage: scripts/install-deps.sh [run|test|mpich]" >&2; exit 2 ;;
esac

# Debian, Ubuntu and their derivatives only (ID or ID_LIKE in /etc/os-release), with dpkg/apt.
os_id="" os_like=""
if [[ -r /etc/os-release ]]; then
  os_id=$(. /etc/os-release && echo "${ID:-}")
  os_like=$(. /etc/os-release && echo "${ID_LIKE:-}")
fi
if [[ ! " $os_id $os_like " =~ [[:space:]](debian|ubuntu)[[:space:]] ]] ||
   ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: not a Debian/Ubuntu system (${os_id:-unknown}): nothing installed;" \
       "install the dependencies with your module system, see docs/cluster.md"
  exit 0
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages for '$what' present"
  exit 0
fi
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing for '$what': ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
