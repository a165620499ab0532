#!/usr/bin/env bash
# Installs the Debian 12 packages seqlearn needs, if any is missing (apt-get update runs once,
# only then). Safe to run again.
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools
  libboost-program-options-dev libgtest-dev librandom123-dev clang libclang-rt-14-dev
  python3 python3-h5py python3-numpy python3-matplotlib python3-pytest python3-neo
  munge slurmctld slurmd slurm-client
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
