# shellcheck shell=bash
# Sourced by run.sh, tools/replicate.sh and the tests: sets SEQLEARN_PYTHON to a python3 that has
# h5py, numpy and matplotlib, for calling the tools as "$SEQLEARN_PYTHON" tools/seqlearn-...
# (the tools, launchers of the package's seqlearn.cli, search the same way themselves). Order: SEQLEARN_PYTHON if set, python3 on PATH, then
# /usr/bin/python3 (Debian's, which scripts/install-deps.sh equips). seqlearn_python returns 1
# with a message naming the packages when none has them.
seqlearn_python() {
  local candidate
  for candidate in ${SEQLEARN_PYTHON:+"$SEQLEARN_PYTHON"} python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c "import h5py, numpy, matplotlib" >/dev/null 2>&1; then
      SEQLEARN_PYTHON=$(command -v "$candidate")
      export SEQLEARN_PYTHON
      return 0
    fi
  done
  echo "seqlearn: no python3 with h5py, numpy and matplotlib (tried ${SEQLEARN_PYTHON:+$SEQLEARN_PYTHON, }python3 on PATH, /usr/bin/python3);" \
       "install them (pip install h5py numpy matplotlib, or Debian's python3-h5py python3-numpy" \
       "python3-matplotlib) or set SEQLEARN_PYTHON" >&2
  return 1
}
