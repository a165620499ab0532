#!/usr/bin/env bash
# Prepares .device/ for the 16-core machine that the `device` tool lends in some sessions
# (Ubuntu 24.04, Open MPI 4.1.6, no HDF5/Boost; ../shared/device/README.md): the release
# binary, h5diff for the identity checks, and every library they need except glibc,
# libstdc++/libgcc and Open MPI's own. Run here, then (one run call, carry [".device"]):
#   source .device/expose-libs.sh && bash bench/device/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build.sh release --target seqlearn_mpi >/dev/null
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo /.device/ >>.git/info/exclude
rm -rf .device && mkdir -p .device/libs .device/bin
cp build/release/seqlearn_mpi "$(command -v h5diff)" .device/bin/
for binary in .device/bin/*; do
  ldd "$binary" | awk '/=> \// { print $3 }'
done | sort -u | grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux|libstdc\+\+|libgcc_s|libmpi|libopen-|libhwloc|libevent)[^/]*$' |
  while read -r lib; do cp -L "$lib" .device/libs/; done
cp ../shared/device/expose-libs.sh .device/ 2>/dev/null || cp /work/shared/device/expose-libs.sh .device/
du -sh .device
