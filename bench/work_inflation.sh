#!/usr/bin/env bash
# Work inflation and imbalance of the strong-scaling grids, measured in CPU time, so that it
# means something on a machine with fewer cores than ranks (oversubscribed mpirun).
#   Grids ${GRIDS:-"128x128 256x256"}, fixed_indegree, periodic, learning on (train:${MS:-200}),
#   no recording; ranks ${RANKS:-"1 16 32 64"}, one at a time (256x256 needs ~2.6 GB in all);
#   run.exchange ${EXCHANGES:-"allgather directed"} (one rank: the first only); network.delay
#   ${DELAY:-1} steps, which is also the exchange interval (DELAY=10: ranks meet every 10 steps,
#   which on an oversubscribed machine shows what switching ranks at every step costs them).
#   Per grid a Markdown table from each run's closing "bench:" line:
#     work inflation = compute_cpu_s_sum(R) / compute_cpu_s_sum(first R, normally 1)
#     imbalance      = R * compute_cpu_s_max(R) / compute_cpu_s_sum(R)
#     slowest rank   = compute_cpu_s_max(R) (weak scaling: against one rank on a grid R times smaller)
#   compute_cpu_s_* is the CPU time (all threads) of the step loop without the Allgather and
#   checkpoints; wall times are meaningless when oversubscribed and are not shown.
#     walk ns/word   = time to sort out the received words / words received (all ranks)
#     halo           = sources whose traces the ranks advance, summed, / the network's neurons
#   The spikes of every run are checked to equal those of the first (h5diff on /spikes);
#   the script fails otherwise.
#   REPEATS=N (default 1) runs every point N times, the rounds interleaved (all points, then all
#   again), and the table gives each run and the medians; inflation is against the median of
#   the first point's runs of the same build. REF_BIN=PATH runs each point with that build too,
#   right after this one's, so that two builds are compared in one sitting (their spikes must
#   agree as well). PARTITIONS (default "auto") lists the run.partition values this build runs
#   each point with (e.g. "strips tiles"; the reference build runs with its own default).
# Usage: bench/work_inflation.sh     MS=100 RANKS="1 4 16" GRIDS=128x128 bench/work_inflation.sh
#        RANKS="1 64" MS=300 GRIDS=256x256 REPEATS=3 REF_BIN=/tmp/ref/seqlearn_mpi bench/work_inflation.sh
#   OUT (default results/work_inflation) keeps run.h5, run.log per point and the tables.
set -euo pipefail
set -f  # the lists below are split on spaces, never expanded as file names
cd "$(dirname "$0")/.."
bin=${SEQLEARN_BIN:-build/release/seqlearn_mpi}
ms=${MS:-200}
delay=${DELAY:-1}
[[ "$delay" =~ ^[1-9][0-9]{0,2}$ ]] || { echo "work_inflation: DELAY must be 1-999 steps" >&2; exit 2; }
ranks_list=${RANKS:-"1 16 32 64"}
exchanges=${EXCHANGES:-"allgather directed"}
grids=${GRIDS:-"128x128 256x256"}
repeats=${REPEATS:-1}
[[ "$repeats" =~ ^[1-9][0-9]?$ ]] || { echo "work_inflation: REPEATS must be 1-99" >&2; exit 2; }
# Every value is checked before anything runs: grids name folders under OUT.
[[ "$ms" =~ ^[1-9][0-9]{0,6}$ ]] || { echo "work_inflation: MS must be a whole number of ms, 1-9999999" >&2; exit 2; }
for ranks in $ranks_list; do
  [[ "$ranks" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "work_inflation: RANKS must list rank counts 1-9999" >&2; exit 2; }
done
for exchange in $exchanges; do
  [[ "$exchange" =~ ^(allgather|directed|auto)$ ]] || { echo "work_inflation: EXCHANGES takes allgather, directed, auto" >&2; exit 2; }
done
for grid in $grids; do
  [[ "$grid" =~ ^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$ ]] || { echo "work_inflation: GRIDS must list grids ROWSxCOLS, e.g. 256x256" >&2; exit 2; }
done
[[ -n "${ranks_list// }" && -n "${exchanges// }" && -n "${grids// }" ]] || { echo "work_inflation: RANKS, EXCHANGES and GRIDS must not be empty" >&2; exit 2; }
builds=()  # label:partition:program (partition empty: the build's default)
for partition in ${PARTITIONS:-auto}; do
  [[ "$partition" =~ ^(auto|strips|tiles)$ ]] || { echo "work_inflation: PARTITIONS takes auto, strips, tiles" >&2; exit 2; }
  builds+=("this-$partition:$partition:$bin")
done
(( ${#builds[@]} > 0 )) || { echo "work_inflation: PARTITIONS must not be empty" >&2; exit 2; }
if [[ -n "${SEQLEARN_BIN:-}" ]]; then
  [[ -x "$bin" && -f "$bin" ]] || { echo "work_inflation: SEQLEARN_BIN '$bin' is not an executable file" >&2; exit 2; }
fi
[[ -x "$bin" ]] || scripts/build.sh release --target seqlearn_mpi >/dev/null  # only once all is checked
source scripts/env.sh
if [[ -n "${REF_BIN:-}" ]]; then
  [[ -x "$REF_BIN" && -f "$REF_BIN" ]] || { echo "work_inflation: REF_BIN '$REF_BIN' is not an executable file" >&2; exit 2; }
  builds+=("ref::$REF_BIN")
fi
out=${OUT:-results/work_inflation}
mkdir -p "$out"
command -v h5diff >/dev/null || { echo "work_inflation: h5diff not found" >&2; exit 2; }

for grid in $grids; do
  first=""
  rows="$out/$grid.tsv"
  : >"$rows"
  for round in $(seq 1 "$repeats"); do
  for ranks in $ranks_list; do
  for exchange in $exchanges; do
  for build in "${builds[@]}"; do
    label=${build%%:*}
    partition=${build#*:}
    partition=${partition%%:*}
    program=${build#*:*:}
    partition_args=()
    [[ -n "$partition" ]] && partition_args=(--run.partition "$partition")
    dir="$out/$grid/np$ranks.$exchange.$label.$round"
    mkdir -p "$dir"
    echo "work_inflation: $grid, $ranks rank(s), $exchange, $label build, round $round, train:$ms, delay $delay ..." >&2
    if ! mpirun --oversubscribe --bind-to none --mca mpi_yield_when_idle 1 -n "$ranks" "$program" \
         --network.grid "$grid" --network.connectivity fixed_indegree --network.boundary periodic \
         --run.protocol "train:$ms" --network.delay "$delay" --record.dt_rec 0 --record.synapses false \
         --run.exchange "$exchange" --threads 1 "${partition_args[@]}" \
         --output "$dir/run.h5" --overwrite >"$dir/run.log" 2>&1; then
      echo "work_inflation: $grid at $ranks rank(s) ($label build) failed; see $dir/run.log" >&2
      tail -5 "$dir/run.log" >&2
      exit 1
    fi
    line=$(grep '^bench:' "$dir/run.log" | tail -1)
    [[ -n "$line" ]] || { echo "work_inflation: no bench: line in $dir/run.log" >&2; exit 1; }
    echo "build=$label ${line#bench: }" >>"$rows"
    if [[ -z "$first" ]]; then
      first=$dir
    elif ! h5diff -q "$first/run.h5" "$dir/run.h5" /spikes /spikes; then
      echo "work_inflation: FAIL: $grid spikes at $ranks rank(s) ($label build) differ from $first (h5diff /spikes)" >&2
      exit 1
    fi
  done
  [[ $ranks == 1 ]] && break  # one rank: nothing is exchanged
  done
  done
  done
  echo "work_inflation: $grid: spikes identical at ranks $ranks_list ($exchanges; ${#builds[@]} build(s), $repeats round(s))" >&2
  python3 - "$rows" "$grid" "$ms" "$delay" <<'EOF' | tee "$out/$grid.md"
import statistics
import sys
rows = [dict(kv.split("=", 1) for kv in line.split()) for line in open(sys.argv[1]) if line.strip()]
steps = int(sys.argv[3])
points = {}  # (build, ranks, exchange) -> its runs, in the order they ran
for r in rows:
    points.setdefault((r["build"], int(r["ranks"]), r["exchange"]), []).append(r)
def cpu(runs, key):
    return [float(r[key]) for r in runs]
# inflation against the median of each build's runs at the first point's ranks (normally 1)
first_ranks = int(rows[0]["ranks"])
base = {b: statistics.median(cpu(runs, "compute_cpu_s_sum"))
        for (b, R, _), runs in points.items() if R == first_ranks}
r0 = rows[0]
print(f"{sys.argv[2]} grid ({int(r0['circuits']):,} circuits, {int(r0['neurons']):,} neurons, "
      f"{float(r0['synapses']):.3g} synapses), train:{sys.argv[3]} ms, delay {sys.argv[4]}, {r0['threads']} thread(s) per rank; "
      f"inflation relative to the median of {first_ranks} rank(s) of the same build\n")
print("| build | ranks | exchange | partition | compute_cpu_s_sum (runs) | work inflation (median) "
      "| imbalance (runs) | slowest rank CPU s (runs) | halo | walk ns / word | words received / step / rank "
      "| bytes sent / step / rank | peak RSS MiB / rank (max) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for (b, R, exchange), runs in points.items():
    sums = cpu(runs, "compute_cpu_s_sum")
    imbalance = [R * float(r["compute_cpu_s_max"]) / float(r["compute_cpu_s_sum"]) for r in runs]
    r = runs[0]
    print(f"| {b} | {R} | {exchange} | {r.get('partition', 'strips')} | {', '.join(f'{s:.2f}' for s in sums)} | "
          f"{statistics.median(sums) / base[b]:.3f} | {', '.join(f'{i:.3f}' for i in imbalance)} | "
          f"{', '.join(f'{m:.4f}' for m in cpu(runs, 'compute_cpu_s_max'))} | "
          f"{float(r['halo']):.2f} | {statistics.median(cpu(runs, 'walk_ns_per_word')):.2f} | "
          f"{float(r['received_words']) / R / steps:,.0f} | {float(r['exchange_bytes_per_step']) / R:,.0f} | "
          f"{max(cpu(runs, 'peak_rss_mib')):,.1f} |")
print()
EOF
done
