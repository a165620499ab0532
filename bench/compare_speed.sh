#!/usr/bin/env bash
# Speed of two builds in one sitting, interleaved (reference, new, reference, new, ...), so that
# the load of a shared machine falls on both alike: the default experiment shortened to 20 s of
# model time, and a 128x128 fixed_indegree grid for 300 steps, at ${RANKS:-1} rank(s) x 1
# thread each, traces off. Prints each run's compute_cpu_s_sum (CPU seconds of the step loop of
# all ranks, from the bench: line) and the medians. For changes that must not cost speed
# (issues 16 and 20).
#   bench/compare_speed.sh REFERENCE_BINARY NEW_BINARY [REPEATS (3)]    RANKS="1 2" bench/...
set -u
if [[ $# -lt 2 || ! -x "$1" || ! -x "$2" ]]; then
  echo "usage: bench/compare_speed.sh REFERENCE_BINARY NEW_BINARY [REPEATS]" >&2
  exit 2
fi
repeats=${3:-3}
[[ "$repeats" =~ ^[1-9][0-9]?$ ]] || { echo "bench/compare_speed.sh: REPEATS must be 1-99" >&2; exit 2; }
ranks_list=${RANKS:-1}
for ranks in $ranks_list; do
  [[ "$ranks" =~ ^[1-9][0-9]?$ ]] || { echo "bench/compare_speed.sh: RANKS must list numbers 1-99" >&2; exit 2; }
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMP_WAIT_POLICY=passive
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
declare -A runs=(
  [default_20s]="--run.protocol train:20000 --record.dt_rec 0"
  [grid128_300]="--network.grid 128x128 --network.connectivity fixed_indegree --run.protocol train:300 --record.dt_rec 0 --record.synapses false"
)
cpu_of() { sed -n 's/.* compute_cpu_s_sum=\([^ ]*\).*/\1/p' | head -1; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf "%-12s %-5s %-10s %s\n" run ranks binary "compute_cpu_s per repeat -> median"
for ranks in $ranks_list; do
for name in default_20s grid128_300; do
  read -r -a args <<<"${runs[$name]}"
  declare -A samples=([reference]="" [new]="")
  for ((i = 0; i < repeats; ++i)); do
    for b in reference new; do
      binary=$1
      [[ $b == new ]] && binary=$2
      cpu=$(mpirun -n "$ranks" --bind-to none "$binary" --threads 1 "${args[@]}" \
              --output.file "$work/$b.h5" --output.overwrite true 2>/dev/null | grep '^bench:' | cpu_of)
      samples[$b]+="${cpu:-nan} "
    done
  done
  for b in reference new; do
    printf "%-12s %-5s %-10s %s-> %s\n" "$name" "$ranks" "$b" "${samples[$b]}" \
      "$(tr ' ' '\n' <<<"${samples[$b]}" | grep -v '^$' | median)"
  done
done
done
