#!/usr/bin/env bash
# Work inflation and imbalance of the strong-scaling grids, measured in CPU time, so that it
# means something on a machine with fewer cores than ranks (oversubscribed mpirun).
#   Grids ${GRIDS:-"128x128 256x256"}, fixed_indegree, periodic, learning on (train:${MS:-200}),
#   no recording; ranks ${RANKS:-"1 16 32 64"}, one at a time (256x256 needs ~2.6 GB in all);
#   run.exchange ${EXCHANGES:-"allgather directed"} (one rank: the first only).
#   Per grid a Markdown table from each run's closing "bench:" line:
#     work inflation = compute_cpu_s_sum(R) / compute_cpu_s_sum(first R, normally 1)
#     imbalance      = R * compute_cpu_s_max(R) / compute_cpu_s_sum(R)
#   compute_cpu_s_* is the CPU time (all threads) of the step loop without the Allgather and
#   checkpoints; wall times are meaningless when oversubscribed and are not shown.
#     walk ns/word   = time to sort out the received words / words received (all ranks)
#     halo           = sources whose traces the ranks advance, summed, / the network's neurons
#   The spikes of every run are checked to equal those of the first (h5diff on /spikes);
#   the script fails otherwise.
# Usage: bench/work_inflation.sh     MS=100 RANKS="1 4 16" GRIDS=128x128 bench/work_inflation.sh
#   OUT (default results/work_inflation) keeps run.h5, run.log per point and the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SEQLEARN_BIN:-build/release/seqlearn_mpi}
[[ -x "$bin" ]] || scripts/build.sh release --target seqlearn_mpi >/dev/null
source scripts/env.sh
ms=${MS:-200}
ranks_list=${RANKS:-"1 16 32 64"}
exchanges=${EXCHANGES:-"allgather directed"}
grids=${GRIDS:-"128x128 256x256"}
out=${OUT:-results/work_inflation}
mkdir -p "$out"
command -v h5diff >/dev/null || { echo "work_inflation: h5diff not found" >&2; exit 2; }

for grid in $grids; do
  first=""
  rows="$out/$grid.tsv"
  : >"$rows"
  for ranks in $ranks_list; do
  for exchange in $exchanges; do
    dir="$out/$grid/np$ranks.$exchange"
    mkdir -p "$dir"
    echo "work_inflation: $grid, $ranks rank(s), $exchange, train:$ms ..." >&2
    if ! mpirun --oversubscribe --bind-to none --mca mpi_yield_when_idle 1 -n "$ranks" "$bin" \
         --network.grid "$grid" --network.connectivity fixed_indegree --network.boundary periodic \
         --run.protocol "train:$ms" --record.dt_rec 0 --record.synapses false \
         --run.exchange "$exchange" --threads 1 \
         --output "$dir/run.h5" --overwrite >"$dir/run.log" 2>&1; then
      echo "work_inflation: $grid at $ranks rank(s) failed; see $dir/run.log" >&2
      tail -5 "$dir/run.log" >&2
      exit 1
    fi
    line=$(grep '^bench:' "$dir/run.log" | tail -1)
    [[ -n "$line" ]] || { echo "work_inflation: no bench: line in $dir/run.log" >&2; exit 1; }
    echo "${line#bench: }" >>"$rows"
    if [[ -z "$first" ]]; then
      first=$dir
    elif ! h5diff -q "$first/run.h5" "$dir/run.h5" /spikes /spikes; then
      echo "work_inflation: FAIL: $grid spikes at $ranks rank(s) differ from $first (h5diff /spikes)" >&2
      exit 1
    fi
    [[ $ranks == 1 ]] && break  # one rank: nothing is exchanged
  done
  done
  echo "work_inflation: $grid: spikes identical at ranks $ranks_list ($exchanges)" >&2
  python3 - "$rows" "$grid" "$ms" <<'EOF' | tee "$out/$grid.md"
import sys
rows = [dict(kv.split("=", 1) for kv in line.split()) for line in open(sys.argv[1]) if line.strip()]
base = float(rows[0]["compute_cpu_s_sum"])
r0 = rows[0]
print(f"{sys.argv[2]} grid ({int(r0['circuits']):,} circuits, {int(r0['neurons']):,} neurons, "
      f"{float(r0['synapses']):.3g} synapses), train:{sys.argv[3]} ms, {r0['threads']} thread(s) per rank; "
      f"inflation relative to {r0['ranks']} rank(s)\n")
print("| ranks | exchange | compute_cpu_s_sum | work inflation | compute_cpu_s_max | imbalance "
      "| halo | walk ns / word | words received / step / rank | bytes sent / step / rank "
      "| peak RSS MiB / rank (max) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    R = int(r["ranks"]); s = float(r["compute_cpu_s_sum"]); m = float(r["compute_cpu_s_max"])
    ex = float(r["exchange_bytes_per_step"]); steps = int(sys.argv[3])
    print(f"| {R} | {r['exchange']} | {s:.2f} | {s / base:.3f} | {m:.2f} | {R * m / s:.3f} | "
          f"{float(r['halo']):.2f} | {float(r['walk_ns_per_word']):.2f} | "
          f"{float(r['received_words']) / R / steps:,.0f} | {ex / R:,.0f} | "
          f"{float(r['peak_rss_mib']):,.1f} |")
print()
EOF
done
