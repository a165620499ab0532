# Shared by the scripts of bench/device/ (sourced from the repository root): the results
# folder ($out: $OUT, where the device tool collects files), the carried programs on PATH,
# this pass's program ($bin), scripts/launch.sh; one run per call of point, its bench: line
# kept in $runs after a label, and the figures read back by label.
out=${OUT:-/tmp/device_out}
mkdir -p "$out"
export PATH=$PWD/.device/bin:$PATH
bin=${SEQLEARN_BIN:-$PWD/.device/bin/seqlearn_mpi}
source scripts/launch.sh

# point LABEL R T PROGRAM ARGS...: one run launched by scripts/launch.sh R T, its bench: line
# appended to $runs after LABEL. POINT_WAIT_POLICY=active|passive overrides the
# OMP_WAIT_POLICY that seqlearn_launch chose (it unsets or sets it itself).
point() {
  local label=$1 ranks=$2 threads=$3 program=$4 line
  shift 4
  seqlearn_launch "$ranks" "$threads" 2>/dev/null || return 1
  [[ -n "${POINT_WAIT_POLICY:-}" ]] && export OMP_WAIT_POLICY=$POINT_WAIT_POLICY
  line=$("${SEQLEARN_MPIRUN[@]}" "$program" --threads "$threads" --output /tmp/hybrid.h5 \
    --overwrite --record.dt_rec 0 "$@" 2>&1 | tee /tmp/hybrid.log | grep '^bench:')
  if [[ -z "$line" ]]; then
    echo "run $label ($ranks x $threads) failed:" >&2
    tail -5 /tmp/hybrid.log >&2
    return 1
  fi
  echo "$label|$line" >>"$runs"
}
# field LABEL KEY: the values of KEY in the runs of LABEL, one per line.
field() {
  grep -F "$1|" "$runs" | sed -n "s/.* $2=\([^ ]*\).*/\1/p"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
